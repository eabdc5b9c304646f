"""REST routes of the early warning: the board (alerts with their explanations, transfers,
escalations, live assist) and a named supervisor's acknowledgement. ``ALERT_ROUTES`` is the table
the access test checks."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from server.api import principal_of
from server.policy import Action
from server.rest import Route, body_of, register
from server.schemas import Edge
from signaling.alerts.watch import AlertWatch

ALERT_WATCH_KEY = web.AppKey("alert_watch", AlertWatch)


class AckBody(Edge):
    note: str | None = Field(default=None, max_length=500)


async def get_board(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ALERT_WATCH_KEY].board(principal_of(request)))


async def post_ack(request: web.Request) -> web.Response:
    me = principal_of(request)
    body = await body_of(request, AckBody)
    raw = request.match_info["alert_id"]
    # ASCII digits that fit the column; anything else matches nothing.
    alert_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1
    return web.json_response(await request.app[ALERT_WATCH_KEY].acknowledge(me, alert_id,
                                                                            body.note))


ALERT_ROUTES = (
    Route("GET", "/api/alerts", get_board, "Early-warning alerts, transfers and escalations",
          action=Action.ALERTS_READ, returns="{alerts, events, escalations, rules}",
          tag="alerts"),
    Route("POST", "/api/alerts/{alert_id}/ack", post_ack, "Acknowledge an alert",
          action=Action.ALERTS_ACK, body=AckBody, returns="AlertView", tag="alerts"),
)


def add_alert_routes(app: web.Application) -> None:
    register(app, ALERT_ROUTES)
