"""The one place that builds the application and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import socketio
from aiohttp import web

from recordings.api import RECORDING_ACCESS_KEY, RecordingAccess, add_recording_routes
from recordings.by_case import recordings_by_case
from recordings.repository import RecordingRepository
from recordings.setup import RecordingStack
from server.alerts.repository import AlertRepository
from server.alerts.rules import load_rules
from server.api import CATALOGUE_KEY, add_routes, error_middleware
from server.audit import AuditLog
from server.cases.repository import CaseRepository
from server.catalogue import configured_catalogue
from server.citizens.api import ACCOUNTS_KEY, add_citizen_routes
from server.citizens.service import CitizenAccounts
from server.config import Settings
from server.credentials import AttemptGate, CodeBook
from server.credentials.store import AttemptStore
from server.db import Database
from server.faults import Faults
from server.keys import CASES_KEY, COUNTERS_KEY, DATABASE_KEY, SETTINGS_KEY, SIGNIN_KEY, USERS_KEY
from server.mediation.documents import DocumentStore
from server.mediation.identity import LocalIdentityVerifier
from server.mediation.repository import MediationRepository
from server.metrics import EventCounters
from server.migrate import upgrade
from server.models import Case, CaseEvent
from server.notifications import Notifier, OutboxNotifier
from server.notifications.api import DEV_OUTBOX_KEY, OUTBOX_KEY, add_notification_routes
from server.notifications.sms import SmsAccount, SmsNotifier
from server.notifications.sms_api import SMS_CALLBACK_TOKEN_KEY, SMS_KEY, add_sms_routes
from server.passwords import PasswordChecker
from server.policy import Principal, Role
from server.quality.api import add_quality_routes
from server.quality.listing import is_reviewer_of
from server.ratings.api import RATER_CHECK_KEY, RATINGS_KEY, add_rating_routes
from server.ratings.repository import RatingRepository
from server.ratings.rules import Reason, Subject, mediation_may_be_rated
from server.ratings.service import Ratings
from server.registry import Registry
from server.registry.api import REGISTRY_KEY, TOKEN_KEY, add_registry_routes
from server.registry.repository import RegistryRepository
from server.reports.api import add_report_routes
from server.reports.job import INTERVAL_S as REPORTS_INTERVAL_S
from server.reports.job import Aggregator
from server.reports.service import Reports
from server.reports.store import ReportStore
from server.signin import SignIn, SignInLimits, SignInThrottle, create_limit_storage
from server.users import UserRepository
from signaling.agreements.api import AGREEMENTS_KEY
from signaling.alerts.api import ALERT_WATCH_KEY, add_alert_routes
from signaling.alerts.watch import AlertWatch, AlwaysTurn, RedisTurn
from signaling.app.agreements import add_agreements
from signaling.app.api import add_app_routes
from signaling.app.cluster import CLUSTER_KEY, Cluster, ProcessRole
from signaling.app.pages import add_pages
from signaling.cluster_keys import ClusterKeys
from signaling.consultations.assist import LiveAssist
from signaling.consultations.assist_events import AssistEvents
from signaling.consultations.service import ConsultationService
from signaling.court.api import COURT_KEY
from signaling.events import SocketEvents
from signaling.here import holds
from signaling.hotline.api import add_hotline_routes
from signaling.hotline.presence import PresenceRegistry
from signaling.hotline.reconciler import Reconciler
from signaling.hotline.service import FOLLOW_UP_DAYS, Hotline
from signaling.hotline.supervision import Thresholds
from signaling.keys import (
    CONSULTATION_KEY,
    ENGINE_KEY,
    HOTLINE_KEY,
    MEDIA_KEY,
    PHONE_DESK_KEY,
    RECONCILER_KEY,
    TICKERS_KEY,
)
from signaling.mediation.api import MEDIATION_KEY, add_mediation_routes
from signaling.mediation.applications import MediationFromApplication
from signaling.mediation.credentials import InviteeCredentials
from signaling.mediation.events import MediationEvents
from signaling.mediation.recording import MediationRecording
from signaling.mediation.room import MediationRoomService
from signaling.mediation.service import MediationService
from signaling.packets import GuardedPacket
from signaling.recording.events import RecordingEvents
from signaling.recording.flow import ConsultationRecording
from signaling.routing.engine import RoutingEngine
from signaling.routing.hours import EXAMPLE_HOURS, WorkingHours
from signaling.routing.model import RoutingConfig
from signaling.routing.regions import RegionGraph
from signaling.routing.store import create_routing_store
from signaling.telephony.bridge import PhoneBridge
from signaling.telephony.desk import PhoneDesk
from signaling.telephony.party import PhoneParties
from signaling.telephony.prompts import Prompts
from signaling.ticker import Ticker
from signaling.views import CALLBACK_EVENTS, SUPERVISORS_TARGET, callback_attempt_view, user_target

log = logging.getLogger(__name__)


# No inline scripts and nothing from other origins; media from the page's own devices.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
)


RECORDING_STACK_KEY = web.AppKey("recording_stack", RecordingStack)
CONSULTATION_RECORDING_KEY = web.AppKey("consultation_recording", ConsultationRecording)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, clock: Callable[[], datetime] = utc_now,
               role: ProcessRole = ProcessRole.ALL) -> web.Application:
    """Build every backend and service and wire them into one aiohttp application (role
    ``all`` or ``signaling``; ``signaling.app.media`` builds a media-only process)."""
    # Headers outermost: every reply, refusals and aiohttp's own 404/405/413 included.
    app = web.Application(middlewares=[_security_headers, error_middleware],
                          client_max_size=1024 * 1024)
    database = Database(settings.database_url)
    catalogue = configured_catalogue(settings.catalogue_path)
    cases = CaseRepository(database)
    users = UserRepository(database)
    engine = RoutingEngine(
        create_routing_store(settings.redis_url, prefix=f"{settings.redis_prefix}:routing"),
        config=RoutingConfig(
            neighbour_after_s=settings.neighbour_after_s,
            any_region_after_s=max(settings.any_region_after_s, settings.neighbour_after_s),
            offer_timeout_s=settings.offer_timeout_s,
            wrap_up_s=settings.wrap_up_s,
            service_level_s=settings.service_level_s,
        ),
        graph=RegionGraph.from_edges(catalogue.region_edges()),
        hours=EXAMPLE_HOURS if settings.working_hours == "example" else WorkingHours(),
    )
    cluster = Cluster(settings, role)
    signin = SignIn(users, PasswordChecker(), SignInThrottle(
        create_limit_storage(settings.redis_url,
                             cluster.redis.connection_pool if cluster.redis else None,
                             settings.redis_prefix),
        SignInLimits(settings.signin_per_username, settings.signin_per_address)))
    # Processes hosting a media worker record what it forwards (docs/recording.md).
    recording = RecordingStack(settings, database) if role is not ProcessRole.SIGNALING else None
    # A room moved off a dead media worker: its members make new offers (a room is a
    # consultation's or a mediation's; each service ignores the other's).
    async def rehomed(room_id: str) -> None:
        await consultation.renegotiate(room_id)
        await mediation_room.renegotiate(room_id)

    # A participant's link fell back to audio only, or video came back: the room is told
    # (a consultation's two sides, or a mediation's members; each ignores the other's rooms).
    async def link_changed(room_id: str, participant_id: str, state: str) -> None:
        await consultation.link_changed(room_id, participant_id, state)
        await mediation_room.link_changed(room_id, participant_id, state)

    media = cluster.media_worker(
        on_rehomed=rehomed, sink=recording.recorder if recording else None,
        on_link=link_changed)
    origins = sorted({settings.public_url, f"http://{settings.host}:{settings.port}",
                      f"http://127.0.0.1:{settings.port}", f"http://localhost:{settings.port}"})
    manager = cluster.socket_manager()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=origins,
        client_manager=manager,
        max_http_buffer_size=256 * 1024,
        # Payloads read with the REST limits, reserved event names refused (signaling.packets).
        serializer=GuardedPacket,
    )
    notifier = cluster.notifier(sio)
    consultation_recording = ConsultationRecording(
        service=recording.service, repo=RecordingRepository(database), media=media,
        notifier=notifier, clock=clock) if recording else None
    consultation = ConsultationService(cases=cases, users=users, media=media, notifier=notifier,
                                       clock=clock, recording=consultation_recording)
    hotline = Hotline(
        cases=cases, users=users, engine=engine, consultation=consultation,
        presence=PresenceRegistry(), notifier=notifier, clock=clock,
        default_region=settings.default_region,
        thresholds=Thresholds(settings.service_level_s, settings.service_level_alert,
                              settings.longest_wait_alert_s),
        faults=Faults(settings.fault_point),
        elsewhere=cluster.held_elsewhere if cluster.relay is not None else None,
    )
    if settings.sip is not None:
        desk = PhoneDesk(settings.sip, hotline=hotline, prompts=Prompts(settings.sip.prompts_dir),
                         default_region=settings.default_region,
                         record=_phone_record(cases, notifier, clock),
                         rate=lambda case_id, score: consultation.rate(
                             Principal(Role.CITIZEN, case_id, "", case_id), score, None))
        consultation.on_started = desk.matched
        consultation.on_closed = desk.room_closed
        desk.bridge = PhoneBridge(consultation, cases, consultation_recording).join
        app[PHONE_DESK_KEY] = desk
    counters = EventCounters()
    events = SocketEvents(sio, consultation, hotline, settings.secret_key, counters,
                          cluster.connection_ledger(), settings.connections_per_token)
    if consultation_recording is not None:
        app[CONSULTATION_RECORDING_KEY] = consultation_recording
        consultation_recording.on_required_refusal = hotline.requeue_after_refusal
        RecordingEvents(events, consultation)
    outbox = OutboxNotifier(database, clock)
    sms = SmsNotifier(database, SmsAccount(
        settings.sms.url, settings.sms.key_id, settings.sms.secret, settings.sms.sign_name,
        settings.sms.templates), clock) if settings.sms else None
    # People's phones: the provider when one is configured, else the local outbox.
    messages: Notifier = sms if sms is not None else outbox
    mediation_repo = MediationRepository(database)
    credentials = InviteeCredentials(
        repo=mediation_repo, gate=AttemptGate(AttemptStore(database), clock),
        codes=CodeBook(database, settings.secret_key, clock), messages=messages,
        notifier=notifier, verifier=LocalIdentityVerifier(), public_url=settings.public_url,
        clock=clock)
    mediation = MediationService(
        repo=mediation_repo, users=users, documents=DocumentStore(settings.data_dir),
        notifier=notifier, secret_key=settings.secret_key, credentials=credentials,
        clock=clock, default_region=settings.default_region,
    )
    mediation_recording = MediationRecording(
        service=recording.service, media=media, notifier=notifier,
        mediation_repo=mediation.repo, clock=clock) if recording else None
    mediation_room = MediationRoomService(
        cases=mediation, media=media, notifier=notifier,
        clock=clock, recording=mediation_recording,
    )
    MediationEvents(events, mediation_room)
    if settings.sip is not None:  # a party keys their invitation code on the phone line
        app[PHONE_DESK_KEY].mediation = PhoneParties(mediation, mediation_room)
    AssistEvents(events, LiveAssist(cases=cases, users=users, media=media, notifier=notifier,
                                    clock=clock))
    registry = Registry(
        catalogue=catalogue, repository=RegistryRepository(database), users=users, now=clock,
        public_url=settings.public_url, mediation=MediationFromApplication(mediation, users),
        notifier=messages,
        documents=DocumentStore(settings.data_dir, "applications"),
        lawyers=lambda: users.with_role("lawyer"))

    async def refer(case: Case, lawyer: Principal, outcome: str) -> dict[str, Any] | None:
        draft = await registry.refer(case, lawyer, outcome)
        return None if draft is None else {"application_id": draft.id, "number": draft.number,
                                           "item": draft.item}

    hotline.on_referral = refer
    if PHONE_DESK_KEY in app:
        app[PHONE_DESK_KEY].file_application = _phone_filing(registry, cases, clock,
                                                             app[PHONE_DESK_KEY].region)
    ratings = Ratings(RatingRepository(database), catalogue.calendar, clock, timelines={
        Subject.CONSULTATION: cases.add_event,
        Subject.MEDIATION: _mediation_timeline(mediation),
        Subject.APPLICATION: registry.note,
    })

    async def rate_consultation(case_id: str, author: str, score: int, reasons: list[Reason],
                                comment: str | None, complaint: bool) -> object:
        return await ratings.rate(Subject.CONSULTATION, case_id, author, score, reasons, comment,
                                  complaint)

    async def mediation_party(me: Principal, case_id: str) -> bool:
        if me.role is not Role.INVITEE or me.case_id != case_id:
            return False
        participant = await mediation.repo.participant(me.id)
        if participant is None or participant.role not in ("applicant", "respondent"):
            return False
        case = await mediation.repo.case(case_id)
        return case is not None and mediation_may_be_rated(
            case.status, (e.kind for e in await mediation.repo.events(case_id)))

    consultation.on_rated = rate_consultation
    sio.attach(app)

    app[SETTINGS_KEY] = settings
    app[DATABASE_KEY] = database
    app[CASES_KEY] = cases
    app[USERS_KEY] = users
    app[SIGNIN_KEY] = signin
    app[ENGINE_KEY] = engine
    app[HOTLINE_KEY] = hotline
    async def push_figures() -> None:
        # The figures read the last day's cases: only worth it for a supervisor watching here.
        if holds(sio, SUPERVISORS_TARGET):
            await hotline.push_figures()

    # Live state that disagrees with the database heals: at start-up, then every interval.
    reconciler = Reconciler(hotline=hotline, engine=engine, cases=cases, users=users,
                            consultation=consultation, rooms=cluster.hosted_rooms, clock=clock)
    app[RECONCILER_KEY] = reconciler

    async def reconcile() -> None:
        await reconciler.run()

    # Early warning: evaluated once per cluster per interval (docs/early-warning.md).
    alert_watch = AlertWatch(
        rules=load_rules(settings.alert_rules_path), repository=AlertRepository(database),
        registry=registry.repository, mediation=mediation.repo, tasks=engine.tasks,
        notifier=notifier, clock=clock,
        turn=AlwaysTurn() if cluster.redis is None else RedisTurn(
            cluster.redis, ClusterKeys(settings.redis_prefix).alerts_turn,
            settings.alert_interval_s * 0.9))
    app[ALERT_WATCH_KEY] = alert_watch
    app[TICKERS_KEY] = [Ticker(hotline.tick, 1.0, "hotline tick"),
                        Ticker(_alert_round(alert_watch), settings.alert_interval_s,
                               "early warning"),
                        Ticker(push_figures, 2.0, "supervisor figures"),
                        Ticker(reconcile, settings.reconcile_interval_s, "reconcile"),
                        Ticker(_registry_sweep(registry), 60.0, "registry clocks")]
    # Reports over time (docs/reports.md): the daily aggregates kept up to date.
    report_store = ReportStore(database)
    reports = Reports(report_store, Aggregator(report_store, clock), clock)
    app[TICKERS_KEY].append(Ticker(_aggregate(reports), REPORTS_INTERVAL_S, "report aggregates"))
    if cluster.remote is not None:
        app[TICKERS_KEY].append(Ticker(cluster.sweep, 1.0, "media sweep"))
    app[CLUSTER_KEY] = cluster
    app[MEDIA_KEY] = media
    app[CONSULTATION_KEY] = consultation
    app[COUNTERS_KEY] = counters
    app[MEDIATION_KEY] = mediation
    app[OUTBOX_KEY] = outbox
    if sms is not None and settings.sms is not None:
        app[SMS_KEY] = sms
        app[SMS_CALLBACK_TOKEN_KEY] = settings.sms.callback_token
        app[TICKERS_KEY].append(Ticker(_retry(sms), 10.0, "sms retries"))
    app[DEV_OUTBOX_KEY] = settings.dev_outbox
    add_agreements(app, settings=settings, database=database, users=users, mediation=mediation,
                   events=events, notifier=notifier, clock=clock)
    app[COURT_KEY].room = mediation_room  # the clerk's confirmation session (docs/agreements.md)
    hotline.add_figures("agreements", app[AGREEMENTS_KEY].overdue_summary)

    if recording is not None:
        app[RECORDING_STACK_KEY] = recording
        app[RECORDING_ACCESS_KEY] = RecordingAccess(
            db=database, cases=cases, storage=recording.storage, audit=AuditLog(database),
            secret_key=settings.secret_key, export_dir=settings.data_dir / "exports",
            reviewer_of=partial(is_reviewer_of, database))
        add_recording_routes(app)
    app[REGISTRY_KEY] = registry
    app[RATINGS_KEY] = ratings
    app[RATER_CHECK_KEY] = {"mediation": mediation_party, "application": registry.is_closed_applicant}
    app[CATALOGUE_KEY] = catalogue
    app[ACCOUNTS_KEY] = CitizenAccounts(database, settings.secret_key, clock, notifier=messages)
    app[TOKEN_KEY] = (settings.secret_key, settings.citizen_token_ttl_s)
    add_routes(app)
    add_hotline_routes(app)
    add_app_routes(app)
    add_mediation_routes(app)
    add_registry_routes(app)
    add_citizen_routes(app)
    add_rating_routes(app)
    add_notification_routes(app)
    add_quality_routes(app, database, clock, recordings_by_case)
    add_alert_routes(app)
    add_sms_routes(app)
    add_report_routes(app, reports)
    add_pages(app)
    app.cleanup_ctx.append(_lifecycle)
    return app


def _phone_record(cases: CaseRepository, notifier: Any, clock: Callable[[], datetime]
                  ) -> Callable[[str, str, dict[str, Any]], Awaitable[None]]:
    """The phone desk's case events (actor "phone"); a callback attempt also goes live to the
    lawyer who waits for it (``case:callback``, listed on the agent page)."""

    async def record(case_id: str, kind: str, data: dict[str, Any]) -> None:
        now = clock()
        await cases.add_event(case_id, "phone", kind, data, now)
        case = await cases.get(case_id) if kind in CALLBACK_EVENTS else None
        if case is not None and case.lawyer_id is not None:
            view = callback_attempt_view(CaseEvent(case_id=case_id, at=now, actor="phone",
                                                   kind=kind, data=data))
            await notifier.emit("case:callback", view, user_target(str(case.lawyer_id)))

    return record


def _phone_filing(registry: Registry, cases: Any, clock: Callable[[], datetime], region: str
                  ) -> Callable[[str, str, str], Awaitable[str]]:
    """2 人民调解 / 3 法律援助 on the phone menu: the one-window application, filed by the
    caller's number, owned (首问负责) by the lawyer who followed that number's earlier case."""

    async def file(service: str, phone: str, language: str) -> str:
        owner = await cases.follow_up_owner(phone, clock() - timedelta(days=FOLLOW_UP_DAYS))
        filing = await registry.file_by_phone(service, phone=phone, name=f"来电 {phone[-4:]}",
                                              region=region, language=language, owner_id=owner)
        return filing.application.number

    return file


def _mediation_timeline(mediation: MediationService
                        ) -> Callable[[str, str, str, dict[str, Any], datetime], Awaitable[None]]:
    async def write(case_id: str, actor: str, kind: str, data: dict[str, Any], at: datetime) -> None:
        await mediation.repo.append_event(case_id, at, actor, kind, data)
    return write


def _alert_round(watch: AlertWatch) -> Callable[[], Awaitable[None]]:
    async def round_() -> None:
        await watch.round()
    return round_


def _registry_sweep(registry: Registry) -> Callable[[], Awaitable[None]]:
    async def sweep() -> None:
        await registry.sweep()
    return sweep


def _aggregate(reports: Reports) -> Callable[[], Awaitable[None]]:
    async def aggregate() -> None:
        await reports.aggregate()
    return aggregate


def _retry(sms: SmsNotifier) -> Callable[[], Awaitable[None]]:
    async def retry() -> None:
        await sms.retry_due()
    return retry


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    await upgrade(app[DATABASE_KEY])
    restored = await app[HOTLINE_KEY].restore()
    log.info("queue restored from the database: %d waiting", restored)
    if RECORDING_STACK_KEY in app:
        await app[RECORDING_STACK_KEY].start()
    if RECORDING_ACCESS_KEY in app:
        await asyncio.to_thread(app[RECORDING_ACCESS_KEY].clear_exports, time.time())
    await app[CLUSTER_KEY].start()
    for ticker in app[TICKERS_KEY]:
        ticker.start()
    if PHONE_DESK_KEY in app:
        await app[PHONE_DESK_KEY].start()
    yield
    if PHONE_DESK_KEY in app:
        await app[PHONE_DESK_KEY].close()
    for ticker in app[TICKERS_KEY]:
        await ticker.close()
    # Peer connections first: aiortc's decoder threads otherwise keep the process alive.
    await app[CLUSTER_KEY].close()
    await app[MEDIA_KEY].close()
    if CONSULTATION_RECORDING_KEY in app:
        await app[CONSULTATION_RECORDING_KEY].close()
    if RECORDING_STACK_KEY in app:
        await app[RECORDING_STACK_KEY].close()
    await app[ENGINE_KEY].close()
    app[SIGNIN_KEY].close()
    if SMS_KEY in app:
        await app[SMS_KEY].close()
    await app[DATABASE_KEY].close()


@web.middleware
async def _security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    if not request.path.startswith("/socket.io"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self)")
    return response
