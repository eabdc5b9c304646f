"""REST routes of the court clerk (/court): applications filed with the clerk's court, each
package with its verification, the package itself, the confirmation session's record and the
decision. ``COURT_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from aiohttp import web

from server.agreements.schemas import DecisionBody, SessionBody
from server.api import principal_of
from server.policy import Action
from server.rest import Route, body_of, register
from signaling.court.clerk import CourtService

COURT_KEY = web.AppKey("court", CourtService)


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
    body = await body_of(request, SessionBody)
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
    body = await body_of(request, DecisionBody)
    return web.json_response(
        await _court(request).decide(me, request.match_info["application_id"], body))


APPLICATION = "/api/court/applications/{application_id}"
_CLERK = ("no_court",)

# Every route and the action it performs; the access test checks the actions.
COURT_ROUTES = (
    Route("GET", "/api/court/applications", listing, "Applications filed with my court",
          action=Action.COURT_REVIEW, returns="{court, applications}", errors=_CLERK,
          tag="court"),
    Route("GET", APPLICATION, view, "One application with its verification",
          action=Action.COURT_REVIEW, returns="{application, verification, agreement, grounds}",
          errors=_CLERK, tag="court"),
    Route("GET", f"{APPLICATION}/package", package, "The judicial-confirmation package",
          action=Action.COURT_REVIEW, content_type="application/zip",
          returns="The package (zip with its manifest)", errors=_CLERK, tag="court"),
    Route("POST", f"{APPLICATION}/session", session, "Record the confirmation session",
          action=Action.COURT_DECIDE, body=SessionBody, returns="As GET",
          errors=(*_CLERK, "invalid_state"), tag="court"),
    Route("POST", f"{APPLICATION}/room", open_room, "Open the confirmation session's room",
          action=Action.COURT_DECIDE, returns="{case_id, room}",
          errors=(*_CLERK, "invalid_state"), tag="court"),
    Route("POST", f"{APPLICATION}/room/end", close_room, "End the confirmation session's room",
          action=Action.COURT_DECIDE, returns="{ended}", errors=(*_CLERK, "invalid_state"),
          tag="court"),
    Route("POST", f"{APPLICATION}/decision", decide, "Record the decision",
          action=Action.COURT_DECIDE, body=DecisionBody, returns="As GET",
          errors=(*_CLERK, "invalid_state"), tag="court"),
)


def add_court_routes(app: web.Application) -> None:
    register(app, COURT_ROUTES)
