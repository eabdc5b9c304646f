"""REST routes of mediation cases: thin handlers that parse, authorise (in the service), call
one service method and serialise. ``MEDIATION_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from server.api import principal_of, read_json
from server.mediation.documents import MAX_DOCUMENT_BYTES, too_large
from server.mediation.schemas import (
    AcceptBody,
    CloseBody,
    CreateMediationBody,
    InviteBody,
    RedeemBody,
    RespondBody,
    RiskBody,
    ScheduleBody,
)
from server.policy import Action
from server.validation import parse
from signaling.mediation.service import MediationService

MEDIATION_KEY = web.AppKey("mediation", MediationService)

MEDIATION_ROUTES: dict[tuple[str, str], Action | None] = {
    ("POST", "/api/mediations"): Action.MEDIATION_CREATE,
    ("GET", "/api/mediations"): Action.MEDIATION_CREATE,
    ("GET", "/api/mediations/{case_id}"): Action.MEDIATION_READ,
    ("POST", "/api/mediations/{case_id}/accept"): Action.MEDIATION_MANAGE,
    ("POST", "/api/mediations/{case_id}/invitations"): Action.MEDIATION_MANAGE,
    ("POST", "/api/mediations/{case_id}/schedule"): Action.MEDIATION_MANAGE,
    ("POST", "/api/mediations/{case_id}/risk"): Action.MEDIATION_MANAGE,
    ("POST", "/api/mediations/{case_id}/close"): Action.MEDIATION_MANAGE,
    ("POST", "/api/mediations/{case_id}/respond"): Action.MEDIATION_RESPOND,
    ("GET", "/api/mediations/{case_id}/timeline"): Action.MEDIATION_READ,
    ("POST", "/api/mediations/{case_id}/documents"): Action.MEDIATION_DOCUMENT,
    ("GET", "/api/mediations/{case_id}/documents/{document_id}"): Action.MEDIATION_DOCUMENT,
    ("POST", "/api/mediation/join"): None,
    ("GET", "/api/escalations"): Action.MEDIATION_SUPERVISE,
}


def _service(request: web.Request) -> MediationService:
    return request.app[MEDIATION_KEY]


async def create(request: web.Request) -> web.Response:
    body = parse(CreateMediationBody, await read_json(request))
    return web.json_response(await _service(request).create(principal_of(request), body),
                             status=201)


async def list_mine(request: web.Request) -> web.Response:
    return web.json_response({"cases": await _service(request).list_mine(principal_of(request))})


async def view(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _service(request).view(me, request.match_info["case_id"]))


async def accept(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(AcceptBody, await read_json(request))
    return web.json_response(await _service(request).accept(me, request.match_info["case_id"], body))


async def invite(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(InviteBody, await read_json(request))
    reply = await _service(request).invite(me, request.match_info["case_id"], body)
    return web.json_response(reply, status=201)


async def schedule(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(ScheduleBody, await read_json(request))
    return web.json_response(
        await _service(request).schedule(me, request.match_info["case_id"], body.at))


async def risk(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(RiskBody, await read_json(request))
    return web.json_response(
        await _service(request).flag_risk(me, request.match_info["case_id"], body.note))


async def close(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(CloseBody, await read_json(request))
    return web.json_response(await _service(request).close(
        me, request.match_info["case_id"], body.outcome, body.reason))


async def respond(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(RespondBody, await read_json(request))
    return web.json_response(await _service(request).respond(
        me, request.match_info["case_id"], body.decision, body.reason))


async def timeline(request: web.Request) -> web.Response:
    me = principal_of(request)
    events = await _service(request).timeline(me, request.match_info["case_id"])
    return web.json_response({"events": events})


async def upload(request: web.Request) -> web.Response:
    """The raw file is the body; ``?filename=`` names it. The type is sniffed, not trusted."""
    me = principal_of(request)
    if request.content_length is not None and request.content_length > MAX_DOCUMENT_BYTES:
        raise too_large()
    data = await request.content.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large()
    filename = request.query.get("filename", "document")[:200]
    document = await _service(request).upload(me, request.match_info["case_id"], filename, data)
    return web.json_response(document, status=201)


async def download(request: web.Request) -> web.Response:
    me = principal_of(request)
    document, data = await _service(request).download(
        me, request.match_info["case_id"], request.match_info["document_id"])
    return web.Response(body=data, content_type=document.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
        "Cache-Control": "private, no-store"})


async def redeem(request: web.Request) -> web.Response:
    body = parse(RedeemBody, await read_json(request))
    return web.json_response(await _service(request).redeem(body.code))


async def escalations(request: web.Request) -> web.Response:
    return web.json_response({"cases": await _service(request).flagged(principal_of(request))})


def add_mediation_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("POST", "/api/mediations"): create,
        ("GET", "/api/mediations"): list_mine,
        ("GET", "/api/mediations/{case_id}"): view,
        ("POST", "/api/mediations/{case_id}/accept"): accept,
        ("POST", "/api/mediations/{case_id}/invitations"): invite,
        ("POST", "/api/mediations/{case_id}/schedule"): schedule,
        ("POST", "/api/mediations/{case_id}/risk"): risk,
        ("POST", "/api/mediations/{case_id}/close"): close,
        ("POST", "/api/mediations/{case_id}/respond"): respond,
        ("GET", "/api/mediations/{case_id}/timeline"): timeline,
        ("POST", "/api/mediations/{case_id}/documents"): upload,
        ("GET", "/api/mediations/{case_id}/documents/{document_id}"): download,
        ("POST", "/api/mediation/join"): redeem,
        ("GET", "/api/escalations"): escalations,
    }
    assert handlers.keys() == MEDIATION_ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
