"""Group commit (server/group_commit.py) on SQLite and PostgreSQL: rows sent together share one
transaction, keep their order, a bad row fails alone, and a closed room refuses chat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.cases.repository import CHATS, EVENTS, CaseRepository
from server.db import Database
from server.group_commit import RequirementFailed
from server.schemas import IntakeBody
from tests.clients import intake_body
from tests.contracts.test_case_repository import make_lawyer

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_rows_sent_together_share_a_transaction_in_order(database: Database) -> None:
    repo = CaseRepository(database)
    case = await repo.create(IntakeBody(**intake_body()), T0)
    batches = database.appends.batches
    await asyncio.gather(*(repo.add_event(case.id, "system", f"k{i}", {"i": i}, T0)
                           for i in range(50)))
    assert database.appends.batches - batches == 1
    kinds = [e.kind for e in await repo.events(case.id)]
    assert kinds == ["intake"] + [f"k{i}" for i in range(50)]


async def test_chat_ids_follow_the_order_sent_and_are_returned(database: Database) -> None:
    repo = CaseRepository(database)
    lawyer = await make_lawyer(database)
    case = await repo.assign((await repo.create(IntakeBody(**intake_body()), T0)).id, lawyer, T0)
    assert case is not None and case.room_id is not None
    messages = await asyncio.gather(*(
        repo.add_chat(room_id=case.room_id, case_id=case.id, sender_role="citizen",
                      sender_id=case.id, sender_name="群众", text=f"第{i}条", now=T0)
        for i in range(30)))
    ids = [m.id for m in messages if m is not None]
    assert len(ids) == 30 and ids == sorted(ids)
    stored = await repo.chat_for_room(case.room_id)
    assert [(m.id, m.text) for m in stored] == [(i, f"第{n}条") for n, i in enumerate(ids)]


async def test_a_closed_room_refuses_chat_in_the_same_batch_as_an_open_one(
        database: Database) -> None:
    repo = CaseRepository(database)
    lawyer = await make_lawyer(database)
    first = await repo.assign((await repo.create(IntakeBody(**intake_body()), T0)).id, lawyer, T0)
    second = await repo.create(IntakeBody(**intake_body()), T0)
    assert first is not None and first.room_id is not None
    assert await repo.end(first.id, "answered", "lawyer", T0)
    other_lawyer = await make_lawyer(database, "l2")
    open_case = await repo.assign(second.id, other_lawyer, T0)
    assert open_case is not None and open_case.room_id is not None

    def send(case_id: str, room_id: str) -> object:
        return repo.add_chat(room_id=room_id, case_id=case_id, sender_role="citizen",
                             sender_id=case_id, sender_name="群众", text="还在吗", now=T0)

    closed, kept = await asyncio.gather(send(first.id, first.room_id),
                                        send(open_case.id, open_case.room_id))
    assert closed is None and kept is not None
    assert await repo.chat_for_room(first.room_id) == []
    assert [m.text for m in await repo.chat_for_room(open_case.room_id)] == ["还在吗"]


async def test_a_bad_row_fails_alone(database: Database) -> None:
    repo = CaseRepository(database)
    case = await repo.create(IntakeBody(**intake_body()), T0)
    good = repo.add_event(case.id, "system", "good", {}, T0)
    # No such case: the foreign key refuses this row (SQLite enforces it: foreign_keys=ON).
    bad = database.appends.insert(EVENTS, {"case_id": "missing", "at": T0, "actor": "system",
                                           "kind": "bad", "data": {}})
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], Exception) and not isinstance(results[1], RequirementFailed)
    assert [e.kind for e in await repo.events(case.id)] == ["intake", "good"]
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(EVENTS).where(EVENTS.c.kind == "bad"))).first() is None


async def test_requirement_on_a_missing_row_refuses(database: Database) -> None:
    from server.cases.repository import ROOMS
    from server.group_commit import Requirement

    with pytest.raises(RequirementFailed):
        await database.appends.insert(
            CHATS, {"room_id": "nope", "case_id": "nope", "sender_role": "citizen",
                    "sender_id": "x", "sender_name": "x", "text": "x", "created_at": T0},
            returning=True, requires=Requirement(ROOMS.c.id, "nope", ROOMS.c.closed_at))
