"""REST routes of mediation cases: thin handlers that parse, authorise (in the service), call
one service method and serialise. ``MEDIATION_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.mediation.documents import MAX_DOCUMENT_BYTES, too_large
from server.mediation.schemas import (
    AcceptBody,
    CloseBody,
    CreateMediationBody,
    InviteBody,
    RedeemBody,
    ReissueBody,
    RespondBody,
    RiskBody,
    ScheduleBody,
)
from server.policy import Action
from server.rest import Auth, Route, body_of, query_of, register
from signaling.mediation.service import MediationService

MEDIATION_KEY = web.AppKey("mediation", MediationService)


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    filename: str = Field(default="document", min_length=1, max_length=1000,
                          description="The file's name (kept to its first 200 characters)")


def _service(request: web.Request) -> MediationService:
    return request.app[MEDIATION_KEY]


async def create(request: web.Request) -> web.Response:
    body = await body_of(request, CreateMediationBody)
    return web.json_response(await _service(request).create(principal_of(request), body),
                             status=201)


async def list_mine(request: web.Request) -> web.Response:
    return web.json_response({"cases": await _service(request).list_mine(principal_of(request))})


async def view(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _service(request).view(me, request.match_info["case_id"]))


async def accept(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, AcceptBody)
    return web.json_response(await _service(request).accept(me, request.match_info["case_id"], body))


async def invite(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, InviteBody)
    reply = await _service(request).invite(me, request.match_info["case_id"], body)
    return web.json_response(reply, status=201)


async def reissue(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, ReissueBody)
    return web.json_response(await _service(request).reissue(
        me, request.match_info["case_id"], request.match_info["participant_id"],
        body.valid_hours))


async def schedule(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, ScheduleBody)
    return web.json_response(
        await _service(request).schedule(me, request.match_info["case_id"], body.at))


async def risk(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, RiskBody)
    return web.json_response(
        await _service(request).flag_risk(me, request.match_info["case_id"], body.note))


async def close(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, CloseBody)
    return web.json_response(await _service(request).close(
        me, request.match_info["case_id"], body.outcome, body.reason))


async def respond(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, RespondBody)
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
    filename = query_of(request, UploadQuery).filename[:200]
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
    body = await body_of(request, RedeemBody)
    return web.json_response(await _service(request).redeem(body.code, request.remote))


async def escalations(request: web.Request) -> web.Response:
    return web.json_response({"cases": await _service(request).flagged(principal_of(request))})


CASE = "/api/mediations/{case_id}"
_MANAGE = ("invalid_state",)

# Every route and the action it performs; the access test checks the actions.
MEDIATION_ROUTES = (
    Route("POST", "/api/mediations", create, "Open a mediation case",
          action=Action.MEDIATION_CREATE, body=CreateMediationBody, status=201,
          returns="CaseDetail (docs/protocol.md)", tag="mediation"),
    Route("GET", "/api/mediations", list_mine, "My mediation cases",
          action=Action.MEDIATION_CREATE, returns="{cases: [MediationCase]}", tag="mediation"),
    Route("GET", CASE, view, "A mediation case", action=Action.MEDIATION_READ,
          returns="CaseDetail", tag="mediation"),
    Route("POST", f"{CASE}/accept", accept, "Accept the case (starts the 30-day clock)",
          action=Action.MEDIATION_MANAGE, body=AcceptBody, returns="CaseDetail",
          errors=_MANAGE, tag="mediation"),
    Route("POST", f"{CASE}/invitations", invite, "Invite a participant",
          action=Action.MEDIATION_MANAGE, body=InviteBody, status=201,
          returns="{participant, code, link}", errors=(*_MANAGE, "room_full"),
          tag="mediation"),
    Route("POST", f"{CASE}/invitations/{{participant_id}}/reissue", reissue,
          "Re-issue an invitation: a new one-time code, the locks cleared",
          action=Action.MEDIATION_MANAGE, body=ReissueBody,
          returns="{participant, sent_to} (the code goes to the invitee, never to staff)",
          errors=("not_found", "invalid_state"), tag="mediation"),
    Route("POST", f"{CASE}/schedule", schedule, "Schedule the session",
          action=Action.MEDIATION_MANAGE, body=ScheduleBody, returns="CaseDetail",
          errors=_MANAGE, tag="mediation"),
    Route("POST", f"{CASE}/risk", risk, "Flag an escalation risk",
          action=Action.MEDIATION_MANAGE, body=RiskBody, returns="CaseDetail",
          errors=_MANAGE, tag="mediation"),
    Route("POST", f"{CASE}/close", close, "Close the case with an outcome",
          action=Action.MEDIATION_MANAGE, body=CloseBody, returns="CaseDetail",
          errors=_MANAGE, tag="mediation"),
    Route("POST", f"{CASE}/respond", respond, "An invitee consents, objects or refuses",
          action=Action.MEDIATION_RESPOND, body=RespondBody, returns="CaseDetail",
          errors=_MANAGE, tag="mediation"),
    Route("GET", f"{CASE}/timeline", timeline, "The case's hash-chained timeline",
          action=Action.MEDIATION_READ, returns="{events: [{id, at, actor, kind, data, hash}]}",
          tag="mediation"),
    Route("POST", f"{CASE}/documents", upload, "Upload a document (the raw file is the body)",
          action=Action.MEDIATION_DOCUMENT, query=UploadQuery,
          raw_body="application/octet-stream", status=201, returns="Document",
          errors=("unsupported_type",), tag="mediation"),
    Route("GET", f"{CASE}/documents/{{document_id}}", download, "Download a document",
          action=Action.MEDIATION_DOCUMENT, content_type="application/octet-stream",
          returns="The file, with its sniffed type, as an attachment", tag="mediation"),
    Route("POST", "/api/mediation/join", redeem, "Redeem an invitation code",
          auth=Auth.PUBLIC, body=RedeemBody, returns="{token, case_id, participant_id}",
          errors=("invitation_invalid", "invitation_expired", "invitation_revoked"),
          tag="mediation"),
    Route("GET", "/api/escalations", escalations, "Cases flagged at risk",
          action=Action.MEDIATION_SUPERVISE, returns="{cases: [MediationCase]}",
          tag="mediation"),
)


def add_mediation_routes(app: web.Application) -> None:
    register(app, MEDIATION_ROUTES)
