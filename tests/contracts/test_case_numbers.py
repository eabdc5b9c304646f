"""Readable case numbers of mediation cases on SQLite and PostgreSQL: per committee and year
(in China time), allocated atomically (many cases at once: no duplicate, no gap) and guarded
by a unique index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from server.catalogue import default_catalogue
from server.db import Database
from server.mediation.models import MediationCase, MediationParticipant
from server.mediation.numbers import committee_for, format_number
from server.mediation.repository import MediationRepository, new_id
from server.users import UserRepository

# 2026-12-31 20:00 UTC is already 2027-01-01 in China.
NEW_YEAR_IN_CHINA = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def _mediator(database: Database) -> int:
    user = await UserRepository(database).add(
        username="m1", password="correct horse", role="mediator", display_name="王调解",
        skills=[], region="qz-kecheng", now=T0)
    return user.id


def _case(mediator_id: int, at: datetime) -> tuple[MediationCase, MediationParticipant]:
    case = MediationCase(
        id=new_id(), status="created", category="neighbour", statement="漏水",
        applicant_name="张三", applicant_phone="13800138000", respondent_name="李四",
        respondent_phone="13900139000", mediator_id=mediator_id, created_at=at,
        conflict_declared=False, escalation_risk=False)
    row = MediationParticipant(id=new_id(), case_id=case.id, role="mediator", side="neutral",
                               name="王调解", user_id=mediator_id, created_at=at)
    return case, row


def test_the_committee_and_its_abbreviation_come_from_the_catalogue() -> None:
    catalogue = default_catalogue()
    kecheng = committee_for(catalogue, "qz-kecheng", "qz-kecheng")
    assert kecheng is not None and (kecheng.name, kecheng.prefix) == ("衢州市柯城区人民调解委员会", "柯调")
    # A region without a committee of its own falls back to the default region's.
    fallback = committee_for(catalogue, "np-pucheng", "qz-jiangshan")
    assert fallback is not None and fallback.prefix == "江调"
    assert format_number("衢调", 2026, 123) == "衢调〔2026〕123号"


async def test_cases_created_at_once_get_distinct_consecutive_numbers(database: Database) -> None:
    repo = MediationRepository(database)
    mediator_id = await _mediator(database)
    made = [_case(mediator_id, T0) for _ in range(12)]
    await asyncio.gather(*(repo.create_case(case, row, "m", T0, "柯调") for case, row in made))
    numbers = sorted([(await repo.case(case.id)).case_number for case, _ in made],  # type: ignore[union-attr]
                     key=lambda n: int(n.split("〕")[1].rstrip("号")))
    assert numbers == [f"柯调〔2026〕{n}号" for n in range(1, 13)]
    # Another committee and another year (China's) count from 1.
    other, row = _case(mediator_id, T0)
    await repo.create_case(other, row, "m", T0, "江调")
    late, row = _case(mediator_id, NEW_YEAR_IN_CHINA)
    await repo.create_case(late, row, "m", NEW_YEAR_IN_CHINA, "柯调")
    assert (await repo.case(other.id)).case_number == "江调〔2026〕1号"  # type: ignore[union-attr]
    assert (await repo.case(late.id)).case_number == "柯调〔2027〕1号"  # type: ignore[union-attr]


async def test_a_number_is_never_given_twice(database: Database) -> None:
    repo = MediationRepository(database)
    mediator_id = await _mediator(database)
    first, row = _case(mediator_id, T0)
    await repo.create_case(first, row, "m", T0, "柯调")
    # The unique index refuses a second case with the same number, however it got there.
    copy, row = _case(mediator_id, T0)
    async with database.session() as session:
        copy.case_number = first.case_number
        session.add(copy)
        with pytest.raises(IntegrityError):
            await session.commit()
    # A case without a committee has no number (and many may have none).
    for _ in range(2):
        bare, row = _case(mediator_id, T0)
        await repo.create_case(bare, row, "m", T0, None)
        assert (await repo.case(bare.id)).case_number is None  # type: ignore[union-attr]
    nxt, row = _case(mediator_id, T0)
    await repo.create_case(nxt, row, "m", T0, "柯调")
    assert (await repo.case(nxt.id)).case_number == "柯调〔2026〕2号"  # type: ignore[union-attr]
