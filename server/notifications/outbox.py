"""``OutboxNotifier``: the local ``Notifier``. Messages are kept in ``notification_outbox``;
in development staff read them at ``GET /api/dev/outbox`` (``PARLEY_DEV_OUTBOX=1``), which is
how a tester receives an invitation code or a signing code without a phone."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.db import Database
from server.notifications.models import OutboxMessage
from server.notifications.protocol import SentMessage
from server.notifications.templates import render


class OutboxNotifier:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    async def send(self, recipient: str, template: str, params: Mapping[str, str]
                   ) -> SentMessage:
        render(template, params)  # an unknown template or wrong parameters fail here, as at a provider
        message = OutboxMessage(id=secrets.token_hex(16), recipient=recipient, template=template,
                                params=dict(params), created_at=self._clock())
        async with self._db.session() as session, session.begin():
            session.add(message)
        return SentMessage(message.id, recipient, template, message.created_at)

    async def latest(self, limit: int = 50, recipient: str | None = None
                     ) -> list[dict[str, Any]]:
        """The newest messages first, rendered (the development view)."""
        query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        return [{"id": m.id, "recipient": m.recipient, "template": m.template,
                 "params": m.params, "text": render(m.template, m.params),
                 "at": m.created_at.isoformat()} for m in rows]
