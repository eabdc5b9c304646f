"""REST routes of citizen accounts: a code to the phone, sign-in with it, and "my cases"."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from server.api import principal_of, read_json
from server.citizens.service import CitizenAccounts
from server.errors import ParleyError, forbidden
from server.policy import Action, Role, require
from server.registry.api import REGISTRY_KEY, TOKEN_KEY, view_for
from server.registry.service import PHONE_PREFIX
from server.schemas import Edge, normalise_phone
from server.tokens import Claims, sign
from server.validation import parse

ACCOUNTS_KEY = web.AppKey("citizen_accounts", CitizenAccounts)

CITIZEN_ROUTES: dict[tuple[str, str], Action | None] = {
    ("POST", "/api/citizen/code"): None,
    ("POST", "/api/citizen/sign-in"): None,
    ("GET", "/api/my/cases"): Action.CITIZEN_CASES,
}


class CodeBody(Edge):
    phone: str = Field(max_length=32)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)


class SignInBody(CodeBody):
    code: str = Field(pattern=r"^[0-9]{6}$")


async def post_code(request: web.Request) -> web.Response:
    body = parse(CodeBody, await read_json(request))
    await request.app[ACCOUNTS_KEY].send_code(body.phone)
    return web.json_response({"sent": True}, status=202)


async def post_sign_in(request: web.Request) -> web.Response:
    body = parse(SignInBody, await read_json(request))
    if not await request.app[ACCOUNTS_KEY].sign_in(body.phone, body.code):
        # One reply for a wrong, expired or spent code.
        raise ParleyError("code_invalid", "验证码不正确或已失效 / the code is wrong or no longer valid",
                          401, "code")
    key, ttl = request.app[TOKEN_KEY]
    token = sign(Claims(sub=PHONE_PREFIX + body.phone, kind="citizen", role=Role.CITIZEN.value,
                        exp=int(time.time()) + ttl), key)
    return web.json_response({"token": token})


async def get_my_cases(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.CITIZEN_CASES)
    if not me.id.startswith(PHONE_PREFIX):
        raise forbidden("请用手机号登录 / sign in with your phone number")
    phone = me.id.removeprefix(PHONE_PREFIX)
    registry = request.app[REGISTRY_KEY]
    from server.registry.flows import Actor

    applications: list[dict[str, Any]] = [
        await view_for(request, a, Actor.APPLICANT, True)
        for a in await registry.repository.for_phone(phone)]
    return web.json_response({
        "phone": phone,
        "applications": applications,
        "consultations": await request.app[ACCOUNTS_KEY].consultations(phone),
    })


def add_citizen_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("POST", "/api/citizen/code"): post_code,
        ("POST", "/api/citizen/sign-in"): post_sign_in,
        ("GET", "/api/my/cases"): get_my_cases,
    }
    assert handlers.keys() == CITIZEN_ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)
