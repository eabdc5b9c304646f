"""``GET /api/dev/outbox``: the local notifier's messages, for staff in development only
(``PARLEY_DEV_OUTBOX=1``); elsewhere it answers 404, as if it did not exist."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.errors import not_found
from server.notifications.outbox import OutboxNotifier
from server.policy import Action, require
from server.rest import Route, query_of, register

OUTBOX_KEY = web.AppKey("outbox", OutboxNotifier)


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    recipient: str = Field(default="", max_length=32)
DEV_OUTBOX_KEY = web.AppKey("dev_outbox", bool)



async def outbox(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.DEV_OUTBOX)
    if not request.app[DEV_OUTBOX_KEY]:
        raise not_found("未启用 / not enabled")
    recipient = query_of(request, OutboxQuery).recipient or None
    return web.json_response({"messages": await request.app[OUTBOX_KEY].latest(
        recipient=recipient)})


NOTIFICATION_ROUTES = (
    Route("GET", "/api/dev/outbox", outbox, "The local outbox (development only)",
          action=Action.DEV_OUTBOX, query=OutboxQuery,
          returns="{messages: [{id, recipient, template, params, text, at}]}; 404 unless "
                  "PARLEY_DEV_OUTBOX=1", tag="notifications"),
)


def add_notification_routes(app: web.Application) -> None:
    register(app, NOTIFICATION_ROUTES)
