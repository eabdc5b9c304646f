"""REST routes of the hotline: a citizen's intake (one form, a case and a place in the queue)
and reading a case. Thin handlers: parse, authorise, call one service, serialise.
``HOTLINE_ROUTES`` is the table the access test checks."""

from __future__ import annotations

import time

from aiohttp import web

from server.api import CATALOGUE_KEY, principal_of
from server.cases.repository import case_resource
from server.errors import ParleyError
from server.keys import CASES_KEY, SETTINGS_KEY, USERS_KEY
from server.policy import Action, Role, require
from server.rest import Auth, Route, body_of, register
from server.schemas import IntakeBody
from server.tokens import Claims, sign
from signaling.keys import HOTLINE_KEY
from signaling.views import case_view


async def post_intake(request: web.Request) -> web.Response:
    body = await body_of(request, IntakeBody,
                         {"regions": frozenset(request.app[CATALOGUE_KEY].regions)})
    case, is_open, new = await request.app[HOTLINE_KEY].intake(body)
    settings = request.app[SETTINGS_KEY]
    claims = Claims(
        sub=case.id, kind="citizen", role=Role.CITIZEN.value, case=case.id, name=case.citizen_name,
        exp=int(time.time()) + settings.citizen_token_ttl_s,
    )
    return web.json_response({"case_id": case.id, "token": sign(claims, settings.secret_key),
                              "open": is_open, "callback": case.callback},
                             status=201 if new else 200)  # 200: the same request_id sent again


async def get_case(request: web.Request) -> web.Response:
    me = principal_of(request)
    case = await request.app[CASES_KEY].get(request.match_info["case_id"])
    if case is None:
        require(me, Action.READ_CASE)
        raise ParleyError("not_found", "案件不存在 / no such case", 404)
    require(me, Action.READ_CASE, case_resource(case))
    lawyer = await request.app[USERS_KEY].get(case.lawyer_id) if case.lawyer_id else None
    view = case_view(case, lawyer)
    view["rating_comment"] = case.rating_comment
    return web.json_response(view)


# Every route and the action it performs; the access test checks the actions.
HOTLINE_ROUTES = (
    Route("POST", "/api/intake", post_intake, "File a consultation (one window)",
          auth=Auth.PUBLIC, body=IntakeBody, status=201,
          returns="{case_id, token, open, callback}", tag="hotline"),
    Route("GET", "/api/cases/{case_id}", get_case, "A consultation case",
          action=Action.READ_CASE, returns="CaseView (docs/protocol.md)", tag="hotline"),
)


def add_hotline_routes(app: web.Application) -> None:
    register(app, HOTLINE_ROUTES)
