"""One-time codes sent to a person's phone (the signing step): 6 digits, kept only as an HMAC,
valid ``CODE_TTL`` and for one use; a new one may be asked for after ``RESEND_AFTER``, at most
``PER_HOUR`` an hour (providers limit verification codes per number the same way)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Database
from server.errors import ParleyError
from server.models import Base
from server.timestamps import UTCDateTime

CODE_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
PER_HOUR = 5


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_holder", "purpose", "holder", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(32))  # a mediation participant id
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CodeCheck(StrEnum):
    OK = "ok"
    WRONG = "wrong"        # no live code matches (wrong, expired or used: one answer)


class CodeBook:
    def __init__(self, db: Database, key: bytes, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._key = hashlib.sha256(b"one-time-codes\n" + key).digest()
        self._clock = clock

    def _digest(self, purpose: str, holder: str, code: str) -> str:
        return hmac.new(self._key, f"{purpose}\n{holder}\n{code}".encode(),
                        hashlib.sha256).hexdigest()

    async def issue(self, purpose: str, holder: str) -> str:
        """A new code (earlier live ones stay valid until used or expired); raises
        ``code_too_soon`` (429) inside ``RESEND_AFTER`` or past ``PER_HOUR``."""
        now = self._clock()
        async with self._db.session() as session, session.begin():
            recent = list(await session.scalars(select(OneTimeCode.created_at).where(
                OneTimeCode.purpose == purpose, OneTimeCode.holder == holder,
                OneTimeCode.created_at > now - timedelta(hours=1))))
            if recent and (max(recent) > now - RESEND_AFTER or len(recent) >= PER_HOUR):
                raise ParleyError("code_too_soon", "验证码发送过于频繁，请稍后再试 / a code was "
                                  "sent moments ago: wait a minute (5 an hour at most)", 429)
            code = f"{secrets.randbelow(10**6):06d}"
            session.add(OneTimeCode(purpose=purpose, holder=holder,
                                    digest=self._digest(purpose, holder, code), created_at=now,
                                    expires_at=now + CODE_TTL))
        return code

    async def use(self, purpose: str, holder: str, code: str) -> CodeCheck:
        """Spend a live code: OK once, WRONG for anything else (wrong, expired, used)."""
        now = self._clock()
        digest = self._digest(purpose, holder, code.strip())
        async with self._db.session() as session, session.begin():
            spent = await session.execute(update(OneTimeCode).where(
                OneTimeCode.purpose == purpose, OneTimeCode.holder == holder,
                OneTimeCode.digest == digest, OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > now).values(used_at=now))
        return CodeCheck.OK if spent.rowcount else CodeCheck.WRONG  # type: ignore[attr-defined]
