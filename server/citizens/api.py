"""REST routes of citizen accounts: a code to the phone, sign-in with it, and "my cases"."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from server.api import principal_of
from server.citizens.service import CitizenAccounts
from server.errors import ParleyError, forbidden
from server.policy import Action, Role, require
from server.ratings.api import RATINGS_KEY, rating_view
from server.registry.api import REGISTRY_KEY, TOKEN_KEY, view_for
from server.registry.service import PHONE_PREFIX
from server.rest import Auth, Route, body_of, register
from server.schemas import Edge, normalise_phone
from server.tokens import Claims, sign

ACCOUNTS_KEY = web.AppKey("citizen_accounts", CitizenAccounts)


class CodeBody(Edge):
    phone: str = Field(max_length=32)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)


class SignInBody(CodeBody):
    code: str = Field(pattern=r"^[0-9]{6}$")


async def post_code(request: web.Request) -> web.Response:
    body = await body_of(request, CodeBody)
    await request.app[ACCOUNTS_KEY].send_code(body.phone)
    return web.json_response({"sent": True}, status=202)


async def post_sign_in(request: web.Request) -> web.Response:
    body = await body_of(request, SignInBody)
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
    accounts = request.app[ACCOUNTS_KEY]
    consultations = await accounts.consultations(phone)
    # Each case's rating by its citizen and whether it was followed up (回访). The cases are
    # this phone's own, whichever sign-in (the filing's, the code's) the rating was made with.
    wanted = [("application", a["id"]) for a in applications]
    wanted += [("consultation", c["id"]) for c in consultations]
    ratings = await request.app[RATINGS_KEY].repository.of_subjects(wanted, f"{Role.CITIZEN}-")
    for kind, rows in (("application", applications), ("consultation", consultations)):
        for row in rows:
            found = ratings.get((kind, row["id"]))
            row["my_rating"] = None if found is None else rating_view(*found)
    rated = await accounts.ratings("application", [a["id"] for a in applications])
    for shown in applications:
        shown["rating"] = rated.get(shown["id"])
        # The proxy sees the case as the applicant would, and knows they act as proxy.
        shown["as_proxy"] = shown["applicant"]["phone"] != phone
    return web.json_response({
        "phone": phone,
        "applications": applications,
        "consultations": consultations,
    })


# Every route and the action it performs; the access test checks the actions.
CITIZEN_ROUTES = (
    Route("POST", "/api/citizen/code", post_code, "Send a one-time code to a phone",
          auth=Auth.PUBLIC, body=CodeBody, status=202, returns="{sent: true}",
          errors=("rate_limited",), tag="citizens"),
    Route("POST", "/api/citizen/sign-in", post_sign_in, "Sign in with the phone's code",
          auth=Auth.PUBLIC, body=SignInBody, returns="{token}", errors=("code_invalid",),
          tag="citizens"),
    Route("GET", "/api/my/cases", get_my_cases, "My applications and consultations",
          action=Action.CITIZEN_CASES, returns="{phone, applications, consultations}",
          tag="citizens"),
)


def add_citizen_routes(app: web.Application) -> None:
    register(app, CITIZEN_ROUTES)
