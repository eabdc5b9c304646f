"""Typed keys for the live services ``create_app`` stores on the application (the ground's
keys are in ``server.keys``)."""

from __future__ import annotations

from aiohttp import web

from rooms.worker import MediaWorker
from signaling.consultations.service import ConsultationService
from signaling.hotline.reconciler import Reconciler
from signaling.hotline.service import Hotline
from signaling.routing.engine import RoutingEngine
from signaling.telephony.desk import PhoneDesk
from signaling.ticker import Ticker

ENGINE_KEY = web.AppKey("routing_engine", RoutingEngine)
HOTLINE_KEY = web.AppKey("hotline", Hotline)
TICKERS_KEY = web.AppKey("tickers", list[Ticker])
MEDIA_KEY = web.AppKey("media", MediaWorker)
CONSULTATION_KEY = web.AppKey("consultation", ConsultationService)
RECONCILER_KEY = web.AppKey("reconciler", Reconciler)
PHONE_DESK_KEY = web.AppKey("phone_desk", PhoneDesk)  # only with PARLEY_SIP_LISTEN
