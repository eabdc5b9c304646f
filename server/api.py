"""REST routes: thin handlers that parse, authorise, call one service and serialise."""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rooms.messages import GetStats, WorkerStats
from rooms.turn import turn_credentials
from server import catalogue
from server.cases.repository import case_resource
from server.db import Database
from server.errors import ParleyError, is_backend_outage, service_recovering
from server.keys import (
    CASES_KEY,
    COUNTERS_KEY,
    DATABASE_KEY,
    HOTLINE_KEY,
    MEDIA_KEY,
    RECONCILER_KEY,
    SETTINGS_KEY,
    SIGNIN_KEY,
    USERS_KEY,
)
from server.logs import request_id_var
from server.metrics import Metric, gauge, labelled, render, supervisor_metrics
from server.policy import Action, Principal, Role, require
from server.schemas import IntakeBody, LoginBody
from server.signin import client_address
from server.tokens import Claims, sign, verify
from server.validation import MAX_PAYLOAD_BYTES, parse
from signaling.hotline.reconcile import RepairKind
from signaling.hotline.reconciler import ReconcileStats
from signaling.views import case_view

log = logging.getLogger(__name__)

# The deployment's service catalogue (server/catalogue), set by the composition root.
CATALOGUE_KEY = web.AppKey("catalogue", catalogue.Catalogue)

# Every route and the action it performs (None: public). A test checks this table.
ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", "/api/catalogue"): None,
    ("GET", "/api/config"): None,
    ("POST", "/api/intake"): None,
    ("POST", "/api/login"): None,
    ("GET", "/api/cases/{case_id}"): Action.READ_CASE,
    ("GET", "/healthz"): None,
    ("GET", "/metrics"): Action.READ_METRICS,
}


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    request_id_var.set(request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:12])
    try:
        return await handler(request)
    except ParleyError as exc:
        return web.json_response(exc.to_dict(), status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
                exc.status, "bad_request"
            )
            return web.json_response(
                {"error": {"code": code, "message": exc.reason}}, status=exc.status
            )
        raise
    except Exception as exc:
        request_id = request_id_var.get()
        if is_backend_outage(exc):
            log.warning("request %s %s: backend unreachable (%s)", request.method, request.path,
                        exc)
            error = service_recovering()
            return web.json_response(error.to_dict(), status=error.status,
                                     headers={"Retry-After": "2"})
        log.exception("request %s %s failed (request %s)", request.method, request.path, request_id)
        return web.json_response(
            {"error": {"code": "internal", "message": f"internal error, request {request_id}"}},
            status=500,
        )


async def read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_PAYLOAD_BYTES:
        raise ParleyError("payload_too_large", "请求内容过大 / body exceeds 64 KiB", 413)
    raw = await request.content.read(MAX_PAYLOAD_BYTES + 1)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ParleyError("payload_too_large", "请求内容过大 / body exceeds 64 KiB", 413)
    try:
        return json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ParleyError("bad_request", "请求内容不是 JSON / body is not JSON") from None


def principal_of(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    claims = verify(token, request.app[SETTINGS_KEY].secret_key, time.time())
    return Principal(Role(claims.role), claims.sub, claims.name, claims.case)


async def get_catalogue(request: web.Request) -> web.Response:
    return web.json_response(catalogue.as_dict(request.app[CATALOGUE_KEY].region_entries()))


async def get_config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    servers = list(settings.ice_servers)
    if settings.turn_secret is not None:
        # Expiring credentials (coturn's use-auth-secret): nothing long-lived reaches a browser.
        servers.append(turn_credentials(settings.turn_secret, settings.turn_urls, now=time.time(),
                                        ttl_s=settings.turn_ttl_s))
    return web.json_response({"ice_servers": servers})


async def post_intake(request: web.Request) -> web.Response:
    body = parse(IntakeBody, await read_json(request),
                 {"regions": frozenset(request.app[CATALOGUE_KEY].regions)})
    case, is_open, new = await request.app[HOTLINE_KEY].intake(body)
    settings = request.app[SETTINGS_KEY]
    claims = Claims(
        sub=case.id, kind="citizen", role=Role.CITIZEN.value, case=case.id, name=case.citizen_name,
        exp=int(time.time()) + settings.citizen_token_ttl_s,
    )
    return web.json_response({"case_id": case.id, "token": sign(claims, settings.secret_key),
                              "open": is_open, "callback": case.callback},
                             status=201 if new else 200)


async def post_login(request: web.Request) -> web.Response:
    body = parse(LoginBody, await read_json(request))
    settings = request.app[SETTINGS_KEY]
    address = client_address(request.remote, request.headers.get("X-Forwarded-For"),
                             settings.trusted_proxies)
    user = await request.app[SIGNIN_KEY].authenticate(body.username, body.password, address)
    claims = Claims(
        sub=str(user.id), kind="staff", role=user.role, name=user.display_name,
        exp=int(time.time()) + settings.staff_token_ttl_s,
    )
    return web.json_response({
        "token": sign(claims, settings.secret_key),
        "user": {"id": str(user.id), "username": user.username, "role": user.role,
                 "display_name": user.display_name},
    })


async def get_case(request: web.Request) -> web.Response:
    me = principal_of(request)
    case = await request.app[CASES_KEY].get(request.match_info["case_id"])
    if case is None:
        require(me, Action.READ_CASE)
        raise ParleyError("not_found", "案件不存在 / no such case", 404)
    require(me, Action.READ_CASE, case_resource(case))
    lawyer = await request.app[USERS_KEY].get(case.lawyer_id) if case.lawyer_id else None
    view = case_view(case, lawyer)
    view["rating_comment"] = case.rating_comment
    return web.json_response(view)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def get_metrics(request: web.Request) -> web.Response:
    # A scraper on the same host needs no token; from elsewhere, a supervisor's.
    if not _from_loopback(request):
        require(principal_of(request), Action.READ_METRICS)
    live = await request.app[HOTLINE_KEY].live_figures()
    stats = await request.app[MEDIA_KEY].request(GetStats())
    counters = request.app[COUNTERS_KEY]
    metrics = [
        gauge("parley_queue_waiting", "Cases waiting in the queue", live["waiting"]),
        gauge("parley_agents_on_duty", "Lawyers online and available or in a call (this process)",
              live["agents_on_duty"]),
        gauge("parley_agents_free", "Lawyers online and free (this process)", live["agents_free"]),
        labelled("parley_socket_events_total", "counter", "Socket events handled", "event",
                 dict(counters.events)),
        labelled("parley_socket_errors_total", "counter", "Socket events refused, by error code",
                 "code", dict(counters.errors)),
        *supervisor_metrics(await request.app[HOTLINE_KEY].figures()),
        *database_metrics(request.app[DATABASE_KEY]),
        *reconcile_metrics(request.app[RECONCILER_KEY].stats),
    ]
    if isinstance(stats, WorkerStats):
        metrics += [
            gauge("parley_media_rooms", "Rooms on this media worker", stats.rooms),
            gauge("parley_media_peer_connections", "WebRTC peer connections", stats.peer_connections),
            labelled("parley_media_forwarded_frames_total", "counter", "Encoded frames forwarded",
                     "kind", stats.forwarded_frames),
            gauge("parley_media_decoded_frames_total", "Frames the worker decoded (must be 0)",
                  stats.decoded_frames),
            gauge("parley_media_encoded_frames_total", "Frames the worker encoded (must be 0)",
                  stats.encoded_frames),
            gauge("parley_media_keyframe_requests_total", "Keyframe requests sent to publishers",
                  stats.keyframe_requests),
        ]
    return web.Response(text=render(metrics), content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Version": "0.0.4"})


def reconcile_metrics(stats: ReconcileStats) -> list[Metric]:
    repairs = {kind.value: stats.repairs.get(kind.value, 0) for kind in RepairKind}
    return [
        gauge("parley_reconcile_runs_total", "Reconciliation passes (live state vs database)",
              stats.runs),
        labelled("parley_reconcile_repairs_total", "counter",
                 "Disagreements repaired, by kind (docs/deploy.md)", "kind", repairs),
        gauge("parley_reconcile_failures_total", "Repairs that failed (retried next pass)",
              stats.failures),
        gauge("parley_reconcile_seconds_total", "Time spent reconciling", stats.seconds_total),
        gauge("parley_reconcile_last_seconds", "Duration of the last pass", stats.last_seconds),
    ]


def database_metrics(database: Database) -> list[Metric]:
    return [
        labelled("parley_db_statements_total", "counter", "SQL statements sent, by verb", "verb",
                 dict(database.statements)),
        gauge("parley_db_group_commit_batches_total", "Transactions of grouped appended rows",
              database.appends.batches),
        gauge("parley_db_group_commit_rows_total", "Appended rows written in groups",
              database.appends.rows),
    ]


def _from_loopback(request: web.Request) -> bool:
    try:
        return request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        return False


def add_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("GET", "/api/catalogue"): get_catalogue,
        ("GET", "/api/config"): get_config,
        ("POST", "/api/intake"): post_intake,
        ("POST", "/api/login"): post_login,
        ("GET", "/api/cases/{case_id}"): get_case,
        ("GET", "/healthz"): healthz,
        ("GET", "/metrics"): get_metrics,
    }
    assert handlers.keys() == ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
