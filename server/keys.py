"""Typed keys for what ``create_app`` stores on the application."""

from __future__ import annotations

from aiohttp import web

from rooms.worker import MediaWorker
from server.cases import CaseRepository
from server.config import Settings
from server.db import Database
from server.metrics import EventCounters
from server.users import UserRepository
from signaling.consultation import ConsultationService
from signaling.queue import QueueStore

SETTINGS_KEY = web.AppKey("settings", Settings)
DATABASE_KEY = web.AppKey("database", Database)
CASES_KEY = web.AppKey("cases", CaseRepository)
USERS_KEY = web.AppKey("users", UserRepository)
QUEUE_KEY = web.AppKey("queue", QueueStore)
MEDIA_KEY = web.AppKey("media", MediaWorker)
CONSULTATION_KEY = web.AppKey("consultation", ConsultationService)
COUNTERS_KEY = web.AppKey("counters", EventCounters)
