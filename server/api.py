"""REST routes of the ground (the catalogue, staff login, health) and what every REST shell
uses: the error middleware, the JSON body reader and the caller's principal. Routes that call
live services sit with them in ``signaling/`` (``signaling.hotline.api``, ``signaling.app.api``)."""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server import catalogue
from server.db import Database
from server.errors import ParleyError, is_backend_outage, service_recovering
from server.keys import SETTINGS_KEY, SIGNIN_KEY
from server.logs import request_id_var
from server.metrics import Metric, gauge, labelled
from server.policy import Action, Principal, Role
from server.schemas import LoginBody
from server.signin import client_address
from server.tokens import Claims, sign, verify
from server.validation import MAX_PAYLOAD_BYTES, parse

log = logging.getLogger(__name__)

# The deployment's service catalogue (server/catalogue), set by the composition root.
CATALOGUE_KEY = web.AppKey("catalogue", catalogue.Catalogue)

# Every route and the action it performs (None: public). A test checks this table.
ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", "/api/catalogue"): None,
    ("POST", "/api/login"): None,
    ("GET", "/healthz"): None,
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


def from_loopback(request: web.Request) -> bool:
    try:
        return request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        return False


def add_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("GET", "/api/catalogue"): get_catalogue,
        ("POST", "/api/login"): post_login,
        ("GET", "/healthz"): healthz,
    }
    assert handlers.keys() == ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
