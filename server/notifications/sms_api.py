"""The SMS provider's callbacks (delivery reports, replies such as 退订) and the staff view.

Callbacks carry the shared ``PARLEY_SMS_CALLBACK_TOKEN`` as ``?token=``; without an SMS account
configured the routes answer 404."""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.errors import ParleyError, bad_request, not_found
from server.notifications.sms import SmsNotifier
from server.notifications.sms_protocol import is_opt_out, parse_reports
from server.policy import Action, require
from server.rest import Auth, Route, query_of, read_json, register

SMS_KEY = web.AppKey("sms", SmsNotifier)


class CallbackQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str = Field(default="", max_length=128)
SMS_CALLBACK_TOKEN_KEY = web.AppKey("sms_callback_token", str)



def _provider(request: web.Request) -> SmsNotifier:
    if SMS_KEY not in request.app:
        raise not_found("未配置短信服务 / no SMS provider configured")
    expected = request.app[SMS_CALLBACK_TOKEN_KEY]
    if not hmac.compare_digest(query_of(request, CallbackQuery).token.encode(), expected.encode()):
        raise ParleyError("forbidden", "回调凭证不正确 / wrong callback token", 403)
    return request.app[SMS_KEY]


async def post_reports(request: web.Request) -> web.Response:
    sms = _provider(request)
    try:
        reports = parse_reports(await read_json(request))
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    await sms.record_reports(reports)
    return web.json_response({"code": 0, "msg": "成功"})


async def post_replies(request: web.Request) -> web.Response:
    sms = _provider(request)
    body = await read_json(request)
    if not isinstance(body, list) or len(body) > 1000:
        raise bad_request("a reply callback is a JSON list")
    for row in body:
        if isinstance(row, dict) and is_opt_out(str(row.get("content", ""))):
            await sms.opt_out(str(row.get("phone_number", ""))[:16])
    return web.json_response({"code": 0, "msg": "成功"})


async def get_messages(request: web.Request) -> web.Response:
    require(principal_of(request), Action.SMS_MESSAGES)
    if SMS_KEY not in request.app:
        return web.json_response({"messages": [], "configured": False})
    return web.json_response({"messages": await request.app[SMS_KEY].latest(), "configured": True})


# The provider calls the first two, authenticated by the shared callback token.
SMS_ROUTES = (
    Route("POST", "/api/sms/reports", post_reports, "Delivery reports from the SMS provider",
          auth=Auth.SIGNED_LINK, query=CallbackQuery, raw_body="JSON list of reports",
          returns="{code: 0}", tag="notifications"),
    Route("POST", "/api/sms/replies", post_replies, "Replies to messages (退订 opts out)",
          auth=Auth.SIGNED_LINK, query=CallbackQuery, raw_body="JSON list of replies",
          returns="{code: 0}", tag="notifications"),
    Route("GET", "/api/sms/messages", get_messages, "Recent messages and their delivery state",
          action=Action.SMS_MESSAGES, returns="{messages, configured}", tag="notifications"),
)


def add_sms_routes(app: web.Application) -> None:
    register(app, SMS_ROUTES)
