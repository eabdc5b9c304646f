"""``SmsNotifier``: the ``Notifier`` for a real SMS provider (server/notifications/sms_protocol.py).

Each message is written to ``sms_messages`` before it is sent (nothing is lost if the provider
or the process fails), sent at once, retried on a temporary failure (30 s, 2 min, 10 min) by
``retry_due`` and reported ``failed`` to staff when it cannot be sent. Delivery reports update the
state; a number that replied 退订 gets no more messages except the codes it asked for itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update

from server.db import Database
from server.errors import ParleyError
from server.notifications import sms_protocol as protocol
from server.notifications.protocol import SentMessage
from server.notifications.sms_models import SmsMessage, SmsOptOut
from server.notifications.sms_rules import next_attempt, within_limits
from server.notifications.templates import render

# Templates a person asked for themselves: sent even after an opt-out.
REQUESTED_BY_RECIPIENT = frozenset({"signing_code", "citizen_sign_in_code"})


@dataclass(frozen=True)
class SmsAccount:
    """The provider account (PARLEY_SMS_*): endpoint, key, signature and template codes."""

    url: str
    key_id: str
    secret: str
    sign_name: str
    templates: Mapping[str, str]  # our template code -> the provider's approved template code


class SmsNotifier:
    def __init__(self, db: Database, account: SmsAccount, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._account = account
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None

    async def send(self, recipient: str, template: str, params: Mapping[str, str]) -> SentMessage:
        render(template, params)  # an unknown template or wrong parameters fail here
        if template not in self._account.templates:
            raise ParleyError("notification_failed", f"短信模板未登记 / no provider template for {template}",
                              503)
        now = self._clock()
        async with self._db.session() as session:
            opted_out = await session.get(SmsOptOut, recipient) is not None
            if opted_out and template not in REQUESTED_BY_RECIPIENT:
                raise ParleyError("opted_out", "对方已退订短信 / the recipient opted out of SMS", 409)
            recent = list(await session.scalars(select(SmsMessage.created_at).where(
                SmsMessage.recipient == recipient,
                SmsMessage.created_at > now - timedelta(days=1))))
            if not within_limits(recent, now):
                raise ParleyError("rate_limited", "发送过于频繁 / too many messages to this number", 429)
            message = SmsMessage(id=secrets.token_hex(16), recipient=recipient, template=template,
                                 params=dict(params), state="queued", attempts=0, created_at=now,
                                 updated_at=now)
            session.add(message)
            await session.commit()
        await self._attempt(message.id)
        return SentMessage(message.id, recipient, template, now)

    async def retry_due(self) -> int:
        """Try again every message whose retry time has come; returns how many were tried."""
        now = self._clock()
        async with self._db.read_session() as session:
            due = list(await session.scalars(select(SmsMessage.id).where(
                SmsMessage.state == "retrying", SmsMessage.next_attempt_at <= now)))
        for message_id in due:
            await self._attempt(message_id)
        return len(due)

    async def _attempt(self, message_id: str) -> None:
        async with self._db.read_session() as session:
            message = await session.get(SmsMessage, message_id)
        if message is None:
            return
        now = self._clock()
        request = protocol.send_request(
            key_id=self._account.key_id, secret=self._account.secret,
            sign_name=self._account.sign_name, template_code=self._account.templates[message.template],
            phone=message.recipient, params=message.params, out_id=message.id,
            nonce=secrets.token_hex(8), now=now)
        try:
            async with self._session().post(self._account.url, data=request,
                                            timeout=aiohttp.ClientTimeout(total=10)) as reply:
                result = protocol.parse_send_reply(await reply.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            result = protocol.SendResult(False, None, "unreachable", str(exc)[:200])
        attempts = message.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "updated_at": now}
        if result.ok:
            values |= {"state": "sent", "biz_id": result.biz_id, "next_attempt_at": None,
                       "last_error": None}
        else:
            retry = None if result.permanent else next_attempt(attempts, now)
            values |= {"state": "retrying" if retry else "failed", "next_attempt_at": retry,
                       "last_error": f"{result.code}: {result.message}"[:200]}
        async with self._db.session() as session:
            await session.execute(update(SmsMessage).where(SmsMessage.id == message_id).values(**values))
            await session.commit()

    async def record_reports(self, reports: list[protocol.Report]) -> int:
        now = self._clock()
        changed = 0
        async with self._db.session() as session:
            for report in reports:
                result = await session.execute(update(SmsMessage).where(
                    SmsMessage.biz_id == report.biz_id, SmsMessage.recipient == report.phone).values(
                    state="delivered" if report.delivered else "undelivered",
                    last_error=None if report.delivered else report.err_code, updated_at=now))
                changed += result.rowcount  # type: ignore[attr-defined]
            await session.commit()
        return changed

    async def opt_out(self, phone: str) -> None:
        async with self._db.session() as session:
            if await session.get(SmsOptOut, phone) is None:
                session.add(SmsOptOut(phone=phone, at=self._clock()))
                await session.commit()

    async def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recent messages with their state, for staff (failures first to act on)."""
        async with self._db.read_session() as session:
            rows = list(await session.scalars(select(SmsMessage).order_by(
                SmsMessage.created_at.desc()).limit(limit)))
        return [{"id": m.id, "recipient": m.recipient[:3] + "****" + m.recipient[-4:],
                 "template": m.template, "state": m.state, "attempts": m.attempts,
                 "error": m.last_error, "at": m.created_at.isoformat()} for m in rows]

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()
