"""REST routes of agreements: reading, the PDF, signing, joint applications for judicial
confirmation, receipts of served decisions, and the follow-up. Thin handlers; the services
authorise. ``AGREEMENT_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.agreements.schemas import PerformanceBody, ProposeBody, SignBody
from server.api import principal_of
from server.policy import Action
from server.rest import Route, body_of, query_of, register
from signaling.agreements.service import AgreementService, SigningContext
from signaling.court.applications import ConfirmationService

AGREEMENTS_KEY = web.AppKey("agreements", AgreementService)
CONFIRMATIONS_KEY = web.AppKey("confirmations", ConfirmationService)

BASE = "/api/mediations/{case_id}/agreement"


class PdfQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    version: int | None = Field(default=None, ge=1, le=100_000,
                                description="A version number; the latest when absent")


def _agreements(request: web.Request) -> AgreementService:
    return request.app[AGREEMENTS_KEY]


def _confirmations(request: web.Request) -> ConfirmationService:
    return request.app[CONFIRMATIONS_KEY]


async def view(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _agreements(request).view(me, request.match_info["case_id"]))


async def pdf(request: web.Request) -> web.Response:
    me = principal_of(request)
    query = query_of(request, PdfQuery)
    data = await _agreements(request).pdf(me, request.match_info["case_id"], query.version)
    return web.Response(body=data, content_type="application/pdf", headers={
        "Content-Disposition": "inline; filename=agreement.pdf",
        "Cache-Control": "private, no-store"})


async def sign(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, SignBody)
    context = SigningContext(ip=request.remote, user_agent=request.headers.get("User-Agent"))
    reply, new = await _agreements(request).sign(me, request.match_info["case_id"], body,
                                                  context)
    # 200: the very same signature sent again, recognised (not a second one).
    return web.json_response(reply, status=201 if new else 200)


async def signing_code(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _agreements(request).send_code(
        me, request.match_info["case_id"]))


async def courts(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(
        await _confirmations(request).courts(me, request.match_info["case_id"]))


async def propose(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, ProposeBody)
    reply = await _confirmations(request).propose(me, request.match_info["case_id"],
                                                  body.court_code)
    return web.json_response(reply, status=201)


async def confirm(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _confirmations(request).confirm(
        me, request.match_info["case_id"], request.match_info["application_id"]))


async def receipt(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _confirmations(request).receive(
        me, request.match_info["case_id"], request.match_info["application_id"], request.remote))


async def performance(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, PerformanceBody)
    return web.json_response(
        await _agreements(request).record_performance(me, request.match_info["case_id"], body))


async def overdue(request: web.Request) -> web.Response:
    return web.json_response(await _agreements(request).overdue_figures(principal_of(request)))


_SIGN_ERRORS = ("version_stale", "hash_mismatch", "agreement_invalid", "esign_excluded",
                "not_a_signer", "already_signed", "identity_required", "credentials_rejected",
                "attempts_locked",
                "signature_invalid", "public_key_invalid", "agreement_missing")

# Every route and the action it performs; the access test checks the actions.
AGREEMENT_ROUTES = (
    Route("GET", BASE, view, "The agreement view", action=Action.AGREEMENT_READ,
          returns="The agreement view (docs/protocol.md)", tag="agreements"),
    Route("GET", f"{BASE}/pdf", pdf, "The agreement as PDF", action=Action.AGREEMENT_READ,
          query=PdfQuery, content_type="application/pdf", returns="The PDF of the version",
          errors=("agreement_missing", "pdf_font_missing"), tag="agreements"),
    Route("POST", f"{BASE}/signatures", sign, "Sign a version", action=Action.AGREEMENT_SIGN,
          body=SignBody, status=201, errors=_SIGN_ERRORS,
          returns="The agreement view (200 instead: the very same signature sent again, "
                  "recognised, not a second one)",
          tag="agreements"),
    Route("POST", f"{BASE}/signing-code", signing_code,
          "Send the signing code to the party's phone", action=Action.AGREEMENT_SIGN,
          returns="{sent_to, minutes}", errors=("code_too_soon", "no_phone"), tag="agreements"),
    Route("GET", f"{BASE}/courts", courts, "Courts competent for judicial confirmation",
          action=Action.AGREEMENT_READ, returns="{courts, deadline_at, days_left}",
          tag="agreements"),
    Route("POST", f"{BASE}/applications", propose, "Apply for judicial confirmation",
          action=Action.AGREEMENT_APPLY, body=ProposeBody, status=201,
          returns="The application", tag="agreements",
          errors=("not_a_party", "court_not_competent", "application_exists",
                  "confirmation_deadline_passed", "invalid_state")),
    Route("POST", f"{BASE}/applications/{{application_id}}/confirm", confirm,
          "A party confirms the joint application", action=Action.AGREEMENT_APPLY,
          returns="The application", errors=("not_a_party", "invalid_state"),
          tag="agreements"),
    Route("POST", f"{BASE}/applications/{{application_id}}/receipt", receipt,
          "Acknowledge the served decision", action=Action.AGREEMENT_READ,
          returns="{application, receipts}", errors=("not_a_recipient", "invalid_state"),
          tag="agreements"),
    Route("POST", f"{BASE}/performance", performance, "Record performance of an obligation",
          action=Action.AGREEMENT_FOLLOW_UP, body=PerformanceBody,
          returns="The agreement view", errors=("invalid_state",), tag="agreements"),
    Route("GET", "/api/agreements/overdue", overdue, "Overdue obligations",
          action=Action.AGREEMENT_OVERDUE, returns="{overdue, items}", tag="agreements"),
)


def add_agreement_routes(app: web.Application) -> None:
    register(app, AGREEMENT_ROUTES)
