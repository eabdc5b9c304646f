"""Wires agreements, judicial confirmation and the court clerk's view into the application
(called once from ``signaling.app.factory.create_app``): services, socket events, REST routes
and the ticker that sends the 30-day window's reminders (the /court page is in
``signaling.app.pages``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from server.agreements.repository import AgreementRepository
from server.agreements.signing import SealKey
from server.config import Settings
from server.db import Database
from server.faults import Faults
from server.users import UserRepository
from signaling.agreements.api import AGREEMENTS_KEY, CONFIRMATIONS_KEY, add_agreement_routes
from signaling.agreements.events import AgreementEvents
from signaling.agreements.service import AgreementService
from signaling.consultations.service import Notifier
from signaling.court.api import COURT_KEY, add_court_routes
from signaling.court.applications import ConfirmationService
from signaling.court.clerk import CourtService
from signaling.events import SocketEvents
from signaling.keys import TICKERS_KEY
from signaling.mediation.service import MediationService
from signaling.ticker import Ticker

REMINDER_INTERVAL_S = 60.0


def add_agreements(app: web.Application, *, settings: Settings, database: Database,
                   users: UserRepository, mediation: MediationService, events: SocketEvents,
                   notifier: Notifier, clock: Callable[[], datetime]) -> None:
    repo = AgreementRepository(database)
    agreements = AgreementService(
        cases=mediation, repo=repo, users=users, seal=SealKey.load_or_create(settings.data_dir),
        notifier=notifier,
        default_region=settings.default_region, clock=clock, faults=Faults(settings.fault_point))
    confirmations = ConfirmationService(agreements=agreements, repo=repo, database=database,
                                        data_dir=settings.data_dir, notifier=notifier, clock=clock)
    app[AGREEMENTS_KEY] = agreements
    app[CONFIRMATIONS_KEY] = confirmations
    app[COURT_KEY] = CourtService(agreements=agreements, confirmations=confirmations, repo=repo,
                                  notifier=notifier, clock=clock)
    AgreementEvents(events, agreements)
    add_agreement_routes(app)
    add_court_routes(app)
    app[TICKERS_KEY].append(Ticker(confirmations.tick, REMINDER_INTERVAL_S,
                                   "agreement reminders"))

