"""REST routes of the court clerk (/court): applications filed with the clerk's court, each
package with its verification, the package itself, the confirmation session's record and the
decision. ``COURT_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from server.agreements.schemas import DecisionBody, SessionBody
from server.api import principal_of, read_json
from server.policy import Action
from server.validation import parse
from signaling.court.clerk import CourtService

COURT_KEY = web.AppKey("court", CourtService)

COURT_ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", "/api/court/applications"): Action.COURT_REVIEW,
    ("GET", "/api/court/applications/{application_id}"): Action.COURT_REVIEW,
    ("GET", "/api/court/applications/{application_id}/package"): Action.COURT_REVIEW,
    ("POST", "/api/court/applications/{application_id}/session"): Action.COURT_DECIDE,
    ("POST", "/api/court/applications/{application_id}/room"): Action.COURT_DECIDE,
    ("POST", "/api/court/applications/{application_id}/room/end"): Action.COURT_DECIDE,
    ("POST", "/api/court/applications/{application_id}/decision"): Action.COURT_DECIDE,
}


def _court(request: web.Request) -> CourtService:
    return request.app[COURT_KEY]


async def listing(request: web.Request) -> web.Response:
    return web.json_response(await _court(request).list(principal_of(request)))


async def view(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _court(request).view(me, request.match_info["application_id"]))


async def package(request: web.Request) -> web.Response:
    me = principal_of(request)
    name, data = await _court(request).package(me, request.match_info["application_id"])
    return web.Response(body=data, content_type="application/zip", headers={
        "Content-Disposition": f"attachment; filename={name}", "Cache-Control": "private, no-store"})


async def session(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(SessionBody, await read_json(request))
    return web.json_response(
        await _court(request).session(me, request.match_info["application_id"], body))


async def open_room(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(
        await _court(request).open_room(me, request.match_info["application_id"]))


async def close_room(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(
        await _court(request).close_room(me, request.match_info["application_id"]))


async def decide(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(DecisionBody, await read_json(request))
    return web.json_response(
        await _court(request).decide(me, request.match_info["application_id"], body))


def add_court_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("GET", "/api/court/applications"): listing,
        ("GET", "/api/court/applications/{application_id}"): view,
        ("GET", "/api/court/applications/{application_id}/package"): package,
        ("POST", "/api/court/applications/{application_id}/session"): session,
        ("POST", "/api/court/applications/{application_id}/room"): open_room,
        ("POST", "/api/court/applications/{application_id}/room/end"): close_room,
        ("POST", "/api/court/applications/{application_id}/decision"): decide,
    }
    assert handlers.keys() == COURT_ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
