"""The case repository on SQLite and on PostgreSQL: same behaviour, same guarantees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server.cases.repository import CaseRepository, CaseStatus
from server.db import Database
from server.schemas import IntakeBody
from server.users import UserRepository
from tests.clients import intake_body

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def make_lawyer(db: Database, name: str = "l1") -> int:
    user = await UserRepository(db).add(username=name, password="correct horse", role="lawyer",
                                        display_name=name, skills=[], region=None, now=T0)
    return user.id


async def test_waiting_cases_come_back_in_order(database: Database) -> None:
    repo = CaseRepository(database)
    ids = []
    for minutes in (3, 1, 2):
        case = await repo.create(IntakeBody(**intake_body()), T0 + timedelta(minutes=minutes))
        ids.append((minutes, case.id))
    waiting = await repo.waiting_in_order()
    assert [c.id for c in waiting] == [i for _, i in sorted(ids)]
    assert waiting[0].queued_at == T0 + timedelta(minutes=1)
    assert waiting[0].queued_at.tzinfo is not None


async def test_a_case_is_assigned_once(database: Database) -> None:
    repo = CaseRepository(database)
    l1, l2 = await make_lawyer(database, "l1"), await make_lawyer(database, "l2")
    case = await repo.create(IntakeBody(**intake_body()), T0)
    results = await asyncio.gather(repo.assign(case.id, l1, T0), repo.assign(case.id, l2, T0))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await repo.get(case.id)
    assert stored is not None and stored.status == CaseStatus.IN_CONSULTATION
    assert stored.room_id is not None and await repo.room(stored.room_id) is not None


async def test_abandoned_case_cannot_be_assigned(database: Database) -> None:
    repo = CaseRepository(database)
    lawyer = await make_lawyer(database)
    case = await repo.create(IntakeBody(**intake_body()), T0)
    assert await repo.abandon(case.id, T0 + timedelta(seconds=42))
    assert await repo.assign(case.id, lawyer, T0) is None
    events = await repo.events(case.id)
    assert [e.kind for e in events] == ["intake", "abandoned"]
    assert events[-1].data == {"waited_s": 42.0}


async def test_end_rate_once_and_chat(database: Database) -> None:
    repo = CaseRepository(database)
    lawyer = await make_lawyer(database)
    case = await repo.create(IntakeBody(**intake_body()), T0)
    assigned = await repo.assign(case.id, lawyer, T0 + timedelta(minutes=1))
    assert assigned is not None and assigned.room_id is not None
    await repo.add_chat(room_id=assigned.room_id, case_id=case.id, sender_role="citizen",
                        sender_id="citizen:x", sender_name="张三", text="你好", now=T0)
    assert [m.text for m in await repo.chat_for_room(assigned.room_id)] == ["你好"]
    assert await repo.end(case.id, "answered", "lawyer:1", T0 + timedelta(minutes=6))
    assert await repo.end(case.id, "answered", "lawyer:1", T0 + timedelta(minutes=7)) is None
    assert await repo.mean_handle_by_mode() == {"video": 300.0}
    assert await repo.rate(case.id, 5, "很好", T0)
    assert not await repo.rate(case.id, 1, None, T0)
    stored = await repo.get(case.id)
    assert stored is not None and (stored.rating, stored.rating_comment) == (5, "很好")


async def test_assign_and_end_write_room_and_timeline_together_or_not_at_all(
        database: Database) -> None:
    repo = CaseRepository(database)
    lawyer, stranger = await make_lawyer(database, "l1"), await make_lawyer(database, "l2")
    case = await repo.create(IntakeBody(**intake_body()), T0)
    assigned = await repo.assign(case.id, lawyer, T0 + timedelta(minutes=1))
    assert assigned is not None and assigned.room_id is not None
    assert (assigned.status, assigned.lawyer_id, assigned.owner_id) == (
        CaseStatus.IN_CONSULTATION, lawyer, lawyer)
    room = await repo.room(assigned.room_id)
    assert room is not None and (room.case_id, room.mode, room.closed_at) == (
        case.id, case.mode, None)
    assert room.opened_at == T0 + timedelta(minutes=1)
    events = await repo.events(case.id)
    assert [(e.kind, e.actor, e.data) for e in events] == [
        ("intake", "citizen", events[0].data),
        ("matched", f"lawyer-{lawyer}", {"room": assigned.room_id})]

    # Not this lawyer's case: nothing changes.
    assert await repo.end(case.id, "answered", "x", T0, lawyer_id=stranger) is None
    room = await repo.room(assigned.room_id)
    assert room is not None and room.closed_at is None
    assert len(await repo.events(case.id)) == 2

    ended = await repo.end(case.id, "follow_up", f"lawyer-{lawyer}", T0 + timedelta(minutes=9),
                           lawyer_id=lawyer)
    assert ended is not None and (ended.status, ended.outcome, ended.room_id) == (
        CaseStatus.ENDED, "follow_up", assigned.room_id)
    assert ended.ended_at == T0 + timedelta(minutes=9)
    room = await repo.room(assigned.room_id)
    assert room is not None and room.closed_at == T0 + timedelta(minutes=9)
    assert [(e.kind, e.data) for e in await repo.events(case.id)][2:] == [
        ("ended", {"outcome": "follow_up"})]

    # Neither a second end nor an assign of an ended case writes anything.
    assert await repo.end(case.id, "answered", "x", T0, lawyer_id=lawyer) is None
    assert await repo.assign(case.id, stranger, T0) is None
    assert len(await repo.events(case.id)) == 3
    stored = await repo.get(case.id)
    assert stored is not None and stored.room_id == assigned.room_id


async def test_assign_and_end_are_one_statement_each_on_postgresql(database: Database) -> None:
    repo = CaseRepository(database)
    lawyer = await make_lawyer(database)
    case = await repo.create(IntakeBody(**intake_body()), T0)
    before = dict(database.statements)
    assert await repo.assign(case.id, lawyer, T0) is not None
    assert await repo.end(case.id, "answered", "x", T0, lawyer_id=lawyer) is not None
    sent = {verb: n - before.get(verb, 0) for verb, n in database.statements.items()
            if n != before.get(verb, 0)}
    if database.engine.dialect.name == "postgresql":
        assert sent == {"WITH": 2}  # the room and timeline writes ride in the same statement
    else:
        assert sent == {"UPDATE": 3, "INSERT": 3}  # in two transactions
