"""Send a sign-in code, check it, and gather a citizen's cases of every service."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update

from server.citizens import codes
from server.citizens.models import SignInCode
from server.db import Database
from server.errors import ParleyError
from server.models import Case
from server.ratings.models import Rating


class Notify(Protocol):
    async def send(self, recipient: str, template: str, params: Mapping[str, str]) -> object: ...


class CitizenAccounts:
    def __init__(self, db: Database, key: bytes, now: Callable[[], datetime],
                 notifier: Notify | None) -> None:
        self._db = db
        self._key = key
        self._now = now
        self._notifier = notifier

    async def send_code(self, phone: str) -> None:
        now = self._now()
        async with self._db.session() as session:
            sent = list(await session.scalars(select(SignInCode.sent_at).where(
                SignInCode.phone == phone).order_by(SignInCode.sent_at.desc()).limit(20)))
            wait = codes.may_send(sent, now)
            if wait is not None:
                raise ParleyError("rate_limited", f"发送过于频繁，请 {int(wait.total_seconds()) + 1} 秒后再试"
                                  f" / too many codes; retry in {int(wait.total_seconds()) + 1} s", 429)
            code = f"{secrets.randbelow(10**6):06d}"
            session.add(SignInCode(phone=phone, digest=codes.digest(self._key, phone, code),
                                   sent_at=now, tries=0, used=False))
            await session.commit()
        if self._notifier is None:
            raise ParleyError("notification_failed", "短信服务未配置 / no notifier configured", 503)
        await self._notifier.send(phone, "citizen_sign_in_code",
                                  {"code": code, "minutes": str(int(codes.CODE_TTL.total_seconds() // 60))})

    async def sign_in(self, phone: str, code: str) -> bool:
        """Whether ``code`` is the live code of ``phone``; a wrong code spends one try."""
        now = self._now()
        async with self._db.session() as session:
            row = (await session.scalars(select(SignInCode).where(SignInCode.phone == phone)
                                         .order_by(SignInCode.sent_at.desc()).limit(1))).first()
            if row is None:
                return False
            result = codes.check(stored_digest=row.digest,
                                 given_digest=codes.digest(self._key, phone, code),
                                 sent_at=row.sent_at, tries=row.tries, used=row.used, now=now)
            await session.execute(update(SignInCode).where(SignInCode.id == row.id).values(
                tries=SignInCode.tries + (0 if result.ok else 1), used=result.spent))
            await session.commit()
            return result.ok

    async def ratings(self, kind: str, subject_ids: list[str]) -> dict[str, int]:
        """The citizen's rating (the latest) of each subject that has one: the same history."""
        if not subject_ids:
            return {}
        async with self._db.read_session() as session:
            rows = await session.execute(select(Rating.subject_id, Rating.score).where(
                Rating.subject_kind == kind, Rating.subject_id.in_(subject_ids))
                .order_by(Rating.created_at))
            return {subject_id: score for subject_id, score in rows}

    async def consultations(self, phone: str) -> list[dict[str, Any]]:
        async with self._db.read_session() as session:
            rows = await session.scalars(select(Case).where(Case.citizen_phone == phone)
                                         .order_by(Case.created_at.desc()).limit(100))
            return [{"id": c.id, "kind": "consultation", "state": c.status, "category": c.category,
                     "created_at": c.created_at.isoformat(), "outcome": c.outcome,
                     "rating": c.rating} for c in rows]
