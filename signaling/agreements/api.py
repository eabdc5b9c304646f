"""REST routes of agreements: reading, the PDF, signing, joint applications for judicial
confirmation, receipts of served decisions, and the follow-up. Thin handlers; the services
authorise. ``AGREEMENT_ROUTES`` is the table the access test checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from server.agreements.schemas import PerformanceBody, ProposeBody, SignBody
from server.api import principal_of, read_json
from server.errors import bad_request
from server.policy import Action
from server.validation import parse
from signaling.agreements.service import AgreementService, SigningContext
from signaling.court.applications import ConfirmationService

AGREEMENTS_KEY = web.AppKey("agreements", AgreementService)
CONFIRMATIONS_KEY = web.AppKey("confirmations", ConfirmationService)

BASE = "/api/mediations/{case_id}/agreement"
AGREEMENT_ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", BASE): Action.AGREEMENT_READ,
    ("GET", f"{BASE}/pdf"): Action.AGREEMENT_READ,
    ("POST", f"{BASE}/signatures"): Action.AGREEMENT_SIGN,
    ("GET", f"{BASE}/courts"): Action.AGREEMENT_READ,
    ("POST", f"{BASE}/applications"): Action.AGREEMENT_APPLY,
    ("POST", f"{BASE}/applications/{{application_id}}/confirm"): Action.AGREEMENT_APPLY,
    ("POST", f"{BASE}/applications/{{application_id}}/receipt"): Action.AGREEMENT_READ,
    ("POST", f"{BASE}/performance"): Action.AGREEMENT_FOLLOW_UP,
    ("GET", "/api/agreements/overdue"): Action.AGREEMENT_OVERDUE,
}


def _agreements(request: web.Request) -> AgreementService:
    return request.app[AGREEMENTS_KEY]


def _confirmations(request: web.Request) -> ConfirmationService:
    return request.app[CONFIRMATIONS_KEY]


async def view(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(await _agreements(request).view(me, request.match_info["case_id"]))


async def pdf(request: web.Request) -> web.Response:
    me = principal_of(request)
    raw = request.query.get("version")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= 100_000):
        raise bad_request("version must be a positive number", "version")
    data = await _agreements(request).pdf(me, request.match_info["case_id"],
                                          int(raw) if raw else None)
    return web.Response(body=data, content_type="application/pdf", headers={
        "Content-Disposition": "inline; filename=agreement.pdf",
        "Cache-Control": "private, no-store"})


async def sign(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(SignBody, await read_json(request))
    context = SigningContext(ip=request.remote, user_agent=request.headers.get("User-Agent"))
    reply = await _agreements(request).sign(me, request.match_info["case_id"], body, context)
    return web.json_response(reply, status=201)


async def courts(request: web.Request) -> web.Response:
    me = principal_of(request)
    return web.json_response(
        await _confirmations(request).courts(me, request.match_info["case_id"]))


async def propose(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = parse(ProposeBody, await read_json(request))
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
    body = parse(PerformanceBody, await read_json(request))
    return web.json_response(
        await _agreements(request).record_performance(me, request.match_info["case_id"], body))


async def overdue(request: web.Request) -> web.Response:
    return web.json_response(await _agreements(request).overdue_figures(principal_of(request)))


def add_agreement_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("GET", BASE): view,
        ("GET", f"{BASE}/pdf"): pdf,
        ("POST", f"{BASE}/signatures"): sign,
        ("GET", f"{BASE}/courts"): courts,
        ("POST", f"{BASE}/applications"): propose,
        ("POST", f"{BASE}/applications/{{application_id}}/confirm"): confirm,
        ("POST", f"{BASE}/applications/{{application_id}}/receipt"): receipt,
        ("POST", f"{BASE}/performance"): performance,
        ("GET", "/api/agreements/overdue"): overdue,
    }
    assert handlers.keys() == AGREEMENT_ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
