"""The audit log: append-only, each entry's hash covering the previous one (tamper-evident).

Who viewed or downloaded a recording, and other access to evidence, is written here. The
chain is one sequence per deployment; a lock keeps appends in order within a process and the
unique ``seq`` column refuses a fork across processes (the loser retries).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Database
from server.models import Base
from server.timestamps import UTCDateTime

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    resource: Mapped[str] = mapped_column(String(96))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, resource: str,
               data: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, seq, at.isoformat(), actor, action, resource, data],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    async def append(self, *, actor: str, action: str, resource: str, data: dict[str, Any],
                     now: datetime) -> AuditEntry:
        async with self._lock:
            for _ in range(5):
                async with self._db.session() as session:
                    head = (await session.execute(
                        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
                    )).scalar_one_or_none()
                    seq = head.seq + 1 if head else 1
                    prev = head.hash if head else GENESIS
                    entry = AuditEntry(seq=seq, at=now, actor=actor, action=action,
                                       resource=resource, data=data, prev_hash=prev,
                                       hash=entry_hash(prev, seq, now, actor, action, resource,
                                                       data))
                    session.add(entry)
                    try:
                        await session.commit()
                        return entry
                    except IntegrityError:  # another process appended this seq first
                        await session.rollback()
            raise RuntimeError("audit log: could not append after 5 tries")

    async def entries(self, resource: str | None = None) -> list[AuditEntry]:
        async with self._db.session() as session:
            query = select(AuditEntry).order_by(AuditEntry.seq)
            if resource is not None:
                query = query.where(AuditEntry.resource == resource)
            return list((await session.execute(query)).scalars())

    async def verify(self) -> list[str]:
        """Every break in the chain, in words (empty when intact)."""
        problems: list[str] = []
        prev = GENESIS
        for expected_seq, e in enumerate(await self.entries(), start=1):
            if e.seq != expected_seq:
                problems.append(f"entry {expected_seq}: missing (next is {e.seq})")
            if e.prev_hash != prev:
                problems.append(f"entry {e.seq}: previous hash does not match")
            if entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.resource, e.data) != e.hash:
                problems.append(f"entry {e.seq}: content does not match its hash")
            prev = e.hash
        return problems
