"""REST routes: thin handlers that parse, authorise, call one service and serialise."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from rooms.messages import GetStats, WorkerStats
from rooms.turn import turn_credentials
from server import catalogue
from server.cases.repository import case_resource
from server.db import Database
from server.errors import ParleyError
from server.keys import (
    CASES_KEY,
    COUNTERS_KEY,
    DATABASE_KEY,
    HOTLINE_KEY,
    MEDIA_KEY,
    SETTINGS_KEY,
    SIGNIN_KEY,
    USERS_KEY,
)
from server.logs import request_id_var
from server.metrics import Metric, gauge, labelled, render, supervisor_metrics
from server.metrics_access import scraper_allowed
from server.policy import Action, Principal, Role, require
from server.rest import Auth, Route, body_of, register
from server.rest.openapi import OPENAPI_ROUTE
from server.schemas import IntakeBody, LoginBody
from server.signin import client_address
from server.tokens import Claims, sign, verify
from signaling.views import case_view

log = logging.getLogger(__name__)

# The deployment's service catalogue (server/catalogue), set by the composition root.
CATALOGUE_KEY = web.AppKey("catalogue", catalogue.Catalogue)


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
        # aiohttp's own refusals (no route, wrong method, body too large) become a response
        # here, so the outer middleware gives them the same security headers as pages.
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                415: "unsupported_media_type"}.get(exc.status, "bad_request")
        return web.json_response(
            {"error": {"code": code, "message": exc.reason}}, status=exc.status,
            headers={"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None)
    except Exception:
        request_id = request_id_var.get()
        log.exception("request %s %s failed (request %s)", request.method, request.path, request_id)
        return web.json_response(
            {"error": {"code": "internal", "message": f"internal error, request {request_id}"}},
            status=500,
        )


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
    body = await body_of(request, IntakeBody,
                         {"regions": frozenset(request.app[CATALOGUE_KEY].regions)})
    case, is_open = await request.app[HOTLINE_KEY].intake(body)
    settings = request.app[SETTINGS_KEY]
    claims = Claims(
        sub=case.id, kind="citizen", role=Role.CITIZEN.value, case=case.id, name=case.citizen_name,
        exp=int(time.time()) + settings.citizen_token_ttl_s,
    )
    return web.json_response({"case_id": case.id, "token": sign(claims, settings.secret_key),
                              "open": is_open, "callback": case.callback}, status=201)


async def post_login(request: web.Request) -> web.Response:
    body = await body_of(request, LoginBody)
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
    # The configured scraper token (or, without one, a direct loopback connection); else a
    # supervisor's sign-in (server.metrics_access, docs/security.md).
    if not scraper_allowed(request, request.app[SETTINGS_KEY].metrics_token):
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


def database_metrics(database: Database) -> list[Metric]:
    return [
        labelled("parley_db_statements_total", "counter", "SQL statements sent, by verb", "verb",
                 dict(database.statements)),
        gauge("parley_db_group_commit_batches_total", "Transactions of grouped appended rows",
              database.appends.batches),
        gauge("parley_db_group_commit_rows_total", "Appended rows written in groups",
              database.appends.rows),
    ]


# Every route, its action (None: public) and its input; the access test checks the actions.
ROUTES = (
    Route("GET", "/api/catalogue", get_catalogue, "The service catalogue", auth=Auth.PUBLIC,
          returns="{service_types, categories, modes, regions, outcomes, languages}"),
    Route("GET", "/api/config", get_config, "Browser configuration", auth=Auth.PUBLIC,
          returns="{ice_servers: [RTCIceServer]} with expiring TURN credentials"),
    Route("POST", "/api/intake", post_intake, "File a consultation (one window)",
          auth=Auth.PUBLIC, body=IntakeBody, status=201,
          returns="{case_id, token, open, callback}"),
    Route("POST", "/api/login", post_login, "Staff sign-in", auth=Auth.PUBLIC, body=LoginBody,
          returns="{token, user: {id, username, role, display_name}}",
          errors=("bad_credentials", "too_many_attempts")),
    Route("GET", "/api/cases/{case_id}", get_case, "A consultation case",
          action=Action.READ_CASE, returns="CaseView (docs/protocol.md)"),
    Route("GET", "/healthz", healthz, "Liveness", auth=Auth.PUBLIC, returns="{ok: true}"),
    Route("GET", "/metrics", get_metrics, "Prometheus metrics", action=Action.READ_METRICS,
          auth=Auth.LOOPBACK_OR_BEARER, content_type="text/plain",
          returns="Prometheus text exposition format 0.0.4"),
    OPENAPI_ROUTE,
)


def add_routes(app: web.Application) -> None:
    register(app, ROUTES)
