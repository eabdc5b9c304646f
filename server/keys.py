"""Typed keys for what ``create_app`` stores on the application: the ground's parts (the live
services' keys are in ``signaling.keys``)."""

from __future__ import annotations

from aiohttp import web

from server.cases.repository import CaseRepository
from server.config import Settings
from server.db import Database
from server.metrics import EventCounters
from server.signin import SignIn
from server.users import UserRepository

SETTINGS_KEY = web.AppKey("settings", Settings)
DATABASE_KEY = web.AppKey("database", Database)
CASES_KEY = web.AppKey("cases", CaseRepository)
USERS_KEY = web.AppKey("users", UserRepository)
SIGNIN_KEY = web.AppKey("signin", SignIn)
COUNTERS_KEY = web.AppKey("counters", EventCounters)
