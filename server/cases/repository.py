"""Cases, their rooms, chat and timeline in the database.

State changes are conditional updates (``WHERE status = ...``), so two processes racing for the
same case cannot both win.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, Select, Table, insert, select, update
from sqlalchemy.sql.dml import Update

from server.cases import statements
from server.cases.statements import CaseStatus as CaseStatus  # where the statements need it
from server.db import Database
from server.group_commit import Requirement, RequirementFailed
from server.models import Case, CaseEvent, ChatMessage, Room
from server.policy import CaseResource
from server.schemas import IntakeBody

# The tables themselves, for the hot paths written in SQL expressions rather than the ORM.
CASES: Table = Case.__table__  # type: ignore[assignment]
ROOMS: Table = Room.__table__  # type: ignore[assignment]
EVENTS: Table = CaseEvent.__table__  # type: ignore[assignment]
CHATS: Table = ChatMessage.__table__  # type: ignore[assignment]


def case_resource(case: Case) -> CaseResource:
    """What the permission policy needs to know about ``case``."""
    return CaseResource(case.id, str(case.lawyer_id) if case.lawyer_id is not None else None)


def new_id() -> str:
    return uuid.uuid4().hex


class CaseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._postgres = db.engine.dialect.name == "postgresql"

    async def create(self, intake: IntakeBody, now: datetime, *, priority: str = "normal",
                     callback: bool = False) -> Case:
        case_id = new_id()
        row = dict(
            id=case_id,
            status=CaseStatus.WAITING,
            service_type=intake.service_type,
            category=intake.category,
            mode=intake.mode,
            citizen_name=intake.name,
            citizen_phone=intake.phone,
            description=intake.description,
            region=intake.region,
            priority=priority,
            callback=callback,
            callback_requested_at=now if callback else None,
            created_at=now,
            queued_at=now,
            notes="",
            language=intake.language,
        )
        # The case and its first event share one batch, so one transaction (server/group_commit).
        created = self._db.appends.insert(CASES, row)
        event = self._db.appends.insert(EVENTS, _event_row(
            case_id, now, "citizen", "intake",
            {"mode": intake.mode, "priority": priority, "callback": callback}))
        await asyncio.gather(created, event)
        return Case(**row)

    async def get(self, case_id: str) -> Case | None:
        async with self._db.reader.connect() as conn:
            found = (await conn.execute(statements.GET, {"p_case": case_id})).first()
        return Case(**found._mapping) if found is not None else None

    async def waiting_in_order(self) -> list[Case]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(Case)
                .where(Case.status == CaseStatus.WAITING)
                .order_by(Case.queued_at, Case.id)
            )
            return list(rows.scalars())

    async def assign(self, case_id: str, lawyer_id: int, now: datetime) -> Case | None:
        """Move a waiting case into consultation with a new room; None if it is not waiting."""
        room_id = new_id()
        actor, data = f"lawyer-{lawyer_id}", {"room": room_id}
        params = {"p_case": case_id, "p_lawyer": lawyer_id, "p_room": room_id, "p_now": now,
                  "p_actor": actor, "p_data": data}
        return await self._change(statements.ASSIGN, statements.ASSIGN_AT_ONCE, params,
                                  lambda found: [
            insert(ROOMS).values(id=room_id, case_id=case_id, mode=found.mode, opened_at=now),
            insert(EVENTS).values(_event_row(case_id, now, actor, "matched", data))])

    async def _change(self, change: Update, at_once: Select[Any], params: dict[str, Any],
                      then: Callable[[Row[Any]], list[Executable]]) -> Case | None:
        """A state change and the writes that go with it, all or nothing: on PostgreSQL the one
        statement ``at_once`` (server/cases/statements.py), elsewhere ``change`` and then the
        writes ``then`` gives for the changed row, in one transaction. The case as changed, or
        None when ``change`` matched no row."""
        if self._postgres:
            async with self._db.reader.connect() as conn:  # one statement: its own transaction
                found = (await conn.execute(at_once, params)).first()
        else:
            async with self._db.engine.begin() as conn:
                found = (await conn.execute(change, params)).first()
                if found is not None:
                    for write in then(found):
                        await conn.execute(write)
        return Case(**found._mapping) if found is not None else None

    async def abandon(self, case_id: str, now: datetime) -> bool:
        async with self._db.session() as session:
            case = await session.get(Case, case_id)
            result = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == CaseStatus.WAITING)
                .values(status=CaseStatus.ABANDONED, ended_at=now)
            )
            if result.rowcount != 1 or case is None:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            waited = (now - case.queued_at).total_seconds()
            session.add(_event(case_id, now, "citizen", "abandoned", {"waited_s": waited}))
            await session.commit()
            return True

    async def requeue(self, case_id: str, category: str | None, actor: str, note: str,
                      target_lawyer: int | None, now: datetime) -> bool:
        """内部流转: a case in consultation goes back to the queue at its original place."""
        values: dict[str, Any] = {"status": CaseStatus.WAITING, "lawyer_id": None, "room_id": None}
        if category is not None:
            values["category"] = category
        async with self._db.session() as session:
            case = await session.get(Case, case_id)
            result = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == CaseStatus.IN_CONSULTATION)
                .values(**values)
            )
            if result.rowcount != 1 or case is None:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            await session.execute(
                update(Room).where(Room.case_id == case_id, Room.closed_at.is_(None))
                .values(closed_at=now)
            )
            session.add(_event(case_id, now, actor, "transferred",
                               {"category": category, "lawyer": target_lawyer, "note": note}))
            await session.commit()
            return True

    async def set_callback(self, case_id: str, now: datetime) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(Case).where(Case.id == case_id)
                .values(callback=True, callback_requested_at=now)
            )
            session.add(_event(case_id, now, "citizen", "callback_requested", {}))
            await session.commit()

    async def add_event(self, case_id: str, actor: str, kind: str, data: dict[str, Any],
                        now: datetime) -> None:
        await self._db.appends.insert(EVENTS, _event_row(case_id, now, actor, kind, data))

    async def follow_up_owner(self, phone: str, since: datetime) -> int | None:
        """首问负责: the lawyer of this citizen's latest case left open for follow-up."""
        async with self._db.reader.connect() as conn:
            found = await conn.execute(statements.FOLLOW_UP_OWNER,
                                       {"p_phone": phone, "p_since": since})
            owner: int | None = found.scalar_one_or_none()
        return owner

    async def recent(self, since: datetime) -> list[Case]:
        """Cases queued since ``since`` (supervisor figures)."""
        async with self._db.session() as session:
            rows = await session.execute(select(Case).where(Case.queued_at >= since))
            return list(rows.scalars())

    async def mean_handle_by_mode(self, last: int = 50) -> dict[str, float]:
        """Mean seconds from match to end per mode over the last ``last`` ended consultations."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(Case.mode, Case.matched_at, Case.ended_at)
                .where(Case.status == CaseStatus.ENDED, Case.matched_at.is_not(None))
                .order_by(Case.ended_at.desc())
                .limit(last)
            )
            spans: dict[str, list[float]] = {}
            for mode, start, end in rows:
                if start and end:
                    spans.setdefault(mode, []).append((end - start).total_seconds())
        return {mode: sum(v) / len(v) for mode, v in spans.items()}

    async def set_notes(self, case_id: str, notes: str, actor: str, now: datetime) -> None:
        async with self._db.session() as session:
            await session.execute(update(Case).where(Case.id == case_id).values(notes=notes))
            session.add(_event(case_id, now, actor, "notes", {"length": len(notes)}))
            await session.commit()

    async def end(self, case_id: str, outcome: str, actor: str, now: datetime,
                  lawyer_id: int | None = None) -> Case | None:
        """End a consultation (``lawyer_id``'s own, when given): the case as ended, or None if
        it is not in consultation (or not theirs)."""
        data = {"outcome": outcome}
        params = {"p_case": case_id, "p_outcome": outcome, "p_now": now, "p_actor": actor,
                  "p_data": data, "p_lawyer": lawyer_id}
        return await self._change(statements.END, statements.END_AT_ONCE, params, lambda _: [
            update(ROOMS).where(ROOMS.c.case_id == case_id, ROOMS.c.closed_at.is_(None))
            .values(closed_at=now),
            insert(EVENTS).values(_event_row(case_id, now, actor, "ended", data))])

    async def rate(self, case_id: str, score: int, comment: str | None, now: datetime) -> bool:
        """Store the citizen's rating once; False if the case already has one."""
        async with self._db.session() as session:
            result = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.rating.is_(None))
                .values(rating=score, rating_comment=comment, rated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return False
            session.add(_event(case_id, now, "citizen", "rated", {"score": score}))
            await session.commit()
            return True

    async def active_for_lawyer(self, lawyer_id: int) -> Case | None:
        async with self._db.session() as session:
            rows = await session.execute(
                select(Case).where(
                    Case.lawyer_id == lawyer_id, Case.status == CaseStatus.IN_CONSULTATION
                )
            )
            return rows.scalars().first()

    async def room(self, room_id: str) -> Room | None:
        async with self._db.reader.connect() as conn:
            found = (await conn.execute(select(ROOMS).where(ROOMS.c.id == room_id))).first()
        return Room(**found._mapping) if found is not None else None

    async def add_chat(
        self, *, room_id: str, case_id: str, sender_role: str, sender_id: str,
        sender_name: str, text: str, now: datetime,
    ) -> ChatMessage | None:
        """Store a chat message; None if its room has been closed meanwhile."""
        row = dict(room_id=room_id, case_id=case_id, sender_role=sender_role,
                   sender_id=sender_id, sender_name=sender_name, text=text, created_at=now)
        try:
            message_id = await self._db.appends.insert(
                CHATS, row, returning=True,
                requires=Requirement(ROOMS.c.id, room_id, ROOMS.c.closed_at))
        except RequirementFailed:
            return None
        return ChatMessage(id=message_id, **row)

    async def chat_for_room(self, room_id: str) -> list[ChatMessage]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(ChatMessage).where(ChatMessage.room_id == room_id).order_by(ChatMessage.id)
            )
            return list(rows.scalars())

    async def events(self, case_id: str) -> list[CaseEvent]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
            return list(rows.scalars())


def _event(case_id: str, at: datetime, actor: str, kind: str, data: dict[str, Any]) -> CaseEvent:
    return CaseEvent(case_id=case_id, at=at, actor=actor, kind=kind, data=data)


def _event_row(case_id: str, at: datetime, actor: str, kind: str, data: dict[str, Any]
               ) -> dict[str, Any]:
    return {"case_id": case_id, "at": at, "actor": actor, "kind": kind, "data": data}
