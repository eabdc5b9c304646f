"""Mediation cases, participants, documents, chat and the hash-chained timeline in the database.

Status changes are conditional updates (``WHERE status IN ...``), so two processes cannot both
accept, close or refuse a case.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from server.agreements.models import ClerkCourt, ConfirmationApplication
from server.db import Database
from server.mediation.models import (
    MediationCase,
    MediationDocument,
    MediationEvent,
    MediationMessage,
    MediationParticipant,
)
from server.mediation.numbers import case_year, format_number, next_number

GENESIS = "0" * 64


def new_id() -> str:
    return uuid.uuid4().hex


def event_hash(prev_hash: str, case_id: str, at: datetime, actor: str, kind: str,
               data: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this event's canonical JSON."""
    body = json.dumps({"case": case_id, "at": at.isoformat(), "actor": actor, "kind": kind,
                       "data": data}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def verify_chain(events: Iterable[MediationEvent]) -> bool:
    """Whether every event's hash matches its content and its predecessor's hash."""
    prev = GENESIS
    for e in events:
        if e.prev_hash != prev or e.hash != event_hash(prev, e.case_id, e.at, e.actor, e.kind,
                                                       e.data):
            return False
        prev = e.hash
    return True


class MediationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- cases ---------------------------------------------------------------------------

    async def create_case(self, case: MediationCase, mediator: MediationParticipant,
                          actor: str, now: datetime, prefix: str | None = None) -> None:
        """Store a new case; with ``prefix``, number it in the same transaction."""
        async with self._db.session() as session:
            if prefix:
                year = case_year(case.created_at)
                case.case_number = format_number(prefix, year,
                                                 await next_number(session, prefix, year))
            session.add(case)
            await session.flush()
            session.add(mediator)
            await session.commit()
        await self.append_event(case.id, now, actor, "created", {"category": case.category})

    async def case(self, case_id: str) -> MediationCase | None:
        async with self._db.session() as session:
            return await session.get(MediationCase, case_id)

    async def case_in_room(self, room_id: str) -> MediationCase | None:
        """The case whose current media room is ``room_id`` (unindexed: asked only when a room
        moves off a dead media worker)."""
        async with self._db.session() as session:
            rows = await session.execute(select(MediationCase).where(
                MediationCase.room_id == room_id).limit(1))
            return rows.scalars().first()

    async def cases_for_mediator(self, user_id: int) -> list[MediationCase]:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationCase).where(
                MediationCase.mediator_id == user_id).order_by(MediationCase.created_at.desc()))
            return list(rows.scalars())

    async def flagged(self) -> list[MediationCase]:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationCase).where(
                MediationCase.escalation_risk.is_(True)))
            return list(rows.scalars())

    async def update_case(self, case_id: str, *, from_status: Iterable[str] | None = None,
                          **values: Any) -> bool:
        """Set ``values``; with ``from_status`` only while the case is in one of them."""
        query = update(MediationCase).where(MediationCase.id == case_id)
        if from_status is not None:
            query = query.where(MediationCase.status.in_(list(from_status)))
        async with self._db.session() as session:
            result = await session.execute(query.values(**values))
            await session.commit()
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- participants --------------------------------------------------------------------

    async def add_participant(self, participant: MediationParticipant) -> None:
        async with self._db.session() as session:
            session.add(participant)
            await session.commit()

    async def participant(self, participant_id: str) -> MediationParticipant | None:
        async with self._db.session() as session:
            return await session.get(MediationParticipant, participant_id)

    async def participants(self, case_id: str) -> list[MediationParticipant]:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationParticipant).where(
                MediationParticipant.case_id == case_id).order_by(MediationParticipant.created_at))
            return list(rows.scalars())

    async def staff_participant(self, case_id: str, user_id: int) -> MediationParticipant | None:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationParticipant).where(
                MediationParticipant.case_id == case_id, MediationParticipant.user_id == user_id))
            return rows.scalars().first()

    async def presiding_clerks(self, case_id: str) -> list[int]:
        """Clerks of the courts holding a submitted confirmation application for the case: who
        may preside over its confirmation session (docs/agreements.md)."""
        async with self._db.session() as session:
            rows = await session.execute(select(ClerkCourt.user_id).join(
                ConfirmationApplication,
                ConfirmationApplication.court_code == ClerkCourt.court_code).where(
                ConfirmationApplication.case_id == case_id,
                ConfirmationApplication.status == "submitted"))
            return sorted(set(rows.scalars()))

    async def by_code(self, code: str) -> MediationParticipant | None:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationParticipant).where(
                MediationParticipant.invite_code == code))
            return rows.scalars().first()

    async def live_codes(self, now: datetime) -> list[str]:
        """Every invitation code that could still be redeemed (unused, unrevoked, unexpired)."""
        async with self._db.session() as session:
            rows = await session.execute(select(MediationParticipant.invite_code).where(
                MediationParticipant.invite_code.is_not(None),
                MediationParticipant.invite_redeemed_at.is_(None),
                MediationParticipant.revoked_at.is_(None),
                MediationParticipant.invite_expires_at > now))
            return [str(c) for c in rows.scalars()]

    async def redeem_code(self, code: str, now: datetime) -> MediationParticipant | None:
        """Spend a live invitation code: the participant once, None ever after (one-time; two
        redemptions at once: one wins, the update being conditional)."""
        async with self._db.session() as session:
            result = await session.execute(update(MediationParticipant).where(
                MediationParticipant.invite_code == code,
                MediationParticipant.invite_redeemed_at.is_(None),
                MediationParticipant.revoked_at.is_(None),
                MediationParticipant.invite_expires_at > now).values(invite_redeemed_at=now))
            await session.commit()
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            rows = await session.execute(select(MediationParticipant).where(
                MediationParticipant.invite_code == code))
            return rows.scalars().first()

    async def update_participant(self, participant_id: str, **values: Any) -> None:
        async with self._db.session() as session:
            await session.execute(update(MediationParticipant).where(
                MediationParticipant.id == participant_id).values(**values))
            await session.commit()

    # --- timeline (append-only, hash-chained) --------------------------------------------

    async def append_event(self, case_id: str, at: datetime, actor: str, kind: str,
                           data: dict[str, Any]) -> MediationEvent:
        async with self._db.session() as session:
            rows = await session.execute(
                select(MediationEvent.hash).where(MediationEvent.case_id == case_id)
                .order_by(MediationEvent.id.desc()).limit(1))
            prev = rows.scalar_one_or_none() or GENESIS
            event = MediationEvent(case_id=case_id, at=at, actor=actor, kind=kind, data=data,
                                   prev_hash=prev,
                                   hash=event_hash(prev, case_id, at, actor, kind, data))
            session.add(event)
            await session.commit()
            return event

    async def events(self, case_id: str) -> list[MediationEvent]:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationEvent).where(
                MediationEvent.case_id == case_id).order_by(MediationEvent.id))
            return list(rows.scalars())

    # --- chat ----------------------------------------------------------------------------

    async def add_message(self, message: MediationMessage) -> MediationMessage:
        async with self._db.session() as session:
            session.add(message)
            await session.commit()
        return message

    async def messages_for(self, case_id: str, room_id: str, member_id: str
                           ) -> list[MediationMessage]:
        """The room's chat that ``member_id`` was in the audience of, oldest first."""
        async with self._db.session() as session:
            rows = await session.execute(select(MediationMessage).where(
                MediationMessage.case_id == case_id, MediationMessage.room_id == room_id)
                .order_by(MediationMessage.id))
            return [m for m in rows.scalars() if member_id in m.audience]

    # --- documents -----------------------------------------------------------------------

    async def add_document(self, document: MediationDocument) -> None:
        async with self._db.session() as session:
            session.add(document)
            await session.commit()

    async def document(self, document_id: str) -> MediationDocument | None:
        async with self._db.session() as session:
            return await session.get(MediationDocument, document_id)

    async def set_document_audience(self, document_id: str, audience: list[str]) -> None:
        async with self._db.session() as session:
            await session.execute(update(MediationDocument).where(
                MediationDocument.id == document_id).values(audience=audience))
            await session.commit()

    async def documents(self, case_id: str) -> list[MediationDocument]:
        async with self._db.session() as session:
            rows = await session.execute(select(MediationDocument).where(
                MediationDocument.case_id == case_id).order_by(MediationDocument.created_at))
            return list(rows.scalars())

    async def supervisor_ids(self) -> list[int]:
        from server.models import User

        async with self._db.session() as session:
            rows = await session.execute(select(User.id).where(User.role == "supervisor"))
            return list(rows.scalars())
