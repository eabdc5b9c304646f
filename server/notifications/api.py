"""``GET /api/dev/outbox``: the local notifier's messages, for staff in development only
(``PARLEY_DEV_OUTBOX=1``); elsewhere it answers 404, as if it did not exist."""

from __future__ import annotations

from aiohttp import web

from server.api import principal_of
from server.errors import not_found
from server.notifications.outbox import OutboxNotifier
from server.policy import Action, require

OUTBOX_KEY = web.AppKey("outbox", OutboxNotifier)
DEV_OUTBOX_KEY = web.AppKey("dev_outbox", bool)

NOTIFICATION_ROUTES: dict[tuple[str, str], Action | None] = {
    ("GET", "/api/dev/outbox"): Action.DEV_OUTBOX,
}


async def outbox(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.DEV_OUTBOX)
    if not request.app[DEV_OUTBOX_KEY]:
        raise not_found("未启用 / not enabled")
    recipient = request.query.get("recipient") or None
    return web.json_response({"messages": await request.app[OUTBOX_KEY].latest(
        recipient=recipient)})


def add_notification_routes(app: web.Application) -> None:
    app.router.add_get("/api/dev/outbox", outbox)
