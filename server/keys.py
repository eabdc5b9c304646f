"""Typed keys for what ``create_app`` stores on the application."""

from __future__ import annotations

from aiohttp import web

from rooms.worker import MediaWorker
from server.cases.repository import CaseRepository
from server.config import Settings
from server.db import Database
from server.metrics import EventCounters
from server.signin import SignIn
from server.users import UserRepository
from signaling.consultations.service import ConsultationService
from signaling.hotline.service import Hotline
from signaling.routing.engine import RoutingEngine
from signaling.ticker import Ticker

SETTINGS_KEY = web.AppKey("settings", Settings)
DATABASE_KEY = web.AppKey("database", Database)
CASES_KEY = web.AppKey("cases", CaseRepository)
USERS_KEY = web.AppKey("users", UserRepository)
SIGNIN_KEY = web.AppKey("signin", SignIn)
ENGINE_KEY = web.AppKey("routing_engine", RoutingEngine)
HOTLINE_KEY = web.AppKey("hotline", Hotline)
TICKERS_KEY = web.AppKey("tickers", list[Ticker])
MEDIA_KEY = web.AppKey("media", MediaWorker)
CONSULTATION_KEY = web.AppKey("consultation", ConsultationService)
COUNTERS_KEY = web.AppKey("counters", EventCounters)
