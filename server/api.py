"""REST routes of the ground (the catalogue, staff login, health) and what every REST shell
uses: the error middleware, the JSON body reader and the caller's principal. Routes that call
live services sit with them in ``signaling/`` (``signaling.hotline.api``, ``signaling.app.api``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from server import catalogue
from server.db import Database
from server.errors import ParleyError, is_backend_outage, service_recovering
from server.keys import SETTINGS_KEY, SIGNIN_KEY
from server.logs import request_id_var
from server.metrics import Metric, gauge, labelled
from server.policy import Principal, Role
from server.rest import Auth, Route, body_of, register
from server.rest.openapi import OPENAPI_ROUTE
from server.schemas import LoginBody
from server.signin import client_address
from server.tokens import Claims, sign, verify

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


def principal_of(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    claims = verify(token, request.app[SETTINGS_KEY].secret_key, time.time())
    return Principal(Role(claims.role), claims.sub, claims.name, claims.case)


async def get_catalogue(request: web.Request) -> web.Response:
    return web.json_response(catalogue.as_dict(request.app[CATALOGUE_KEY].region_entries()))


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


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


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
    Route("POST", "/api/login", post_login, "Staff sign-in", auth=Auth.PUBLIC, body=LoginBody,
          returns="{token, user: {id, username, role, display_name}}",
          errors=("bad_credentials", "too_many_attempts")),
    Route("GET", "/healthz", healthz, "Liveness", auth=Auth.PUBLIC, returns="{ok: true}"),
    OPENAPI_ROUTE,
)


def add_routes(app: web.Application) -> None:
    register(app, ROUTES)
