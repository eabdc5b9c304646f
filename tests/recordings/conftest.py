"""Fixtures for the recorder's tests: a migrated SQLite database with a case, local storage,
and real encoded VP8 + Opus packets (made once per session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recordings.storage import LocalRecordingStorage
from server.db import Database
from server.migrate import upgrade
from server.models import Case
from tests.recordings.media import Timed, media

CASE = "case1"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def add_case(db: Database, case_id: str = CASE, now: datetime = T0) -> None:
    async with db.session() as session, session.begin():
        session.add(Case(id=case_id, status="in_call", service_type="consultation",
                         category="labour", mode="video", citizen_name="张三",
                         citizen_phone="13800000000", description="工资", region="r1",
                         created_at=now, queued_at=now, notes=""))


@pytest.fixture(scope="session")
def packets() -> list[Timed]:
    """Four seconds of encoded media: keyframes every 2 s, 30 fps video, 20 ms audio."""
    return list(media(4.0))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/recordings.db")
    await upgrade(database)
    await add_case(database)
    yield database
    await database.close()


@pytest.fixture
def storage(tmp_path: Path) -> LocalRecordingStorage:
    return LocalRecordingStorage(tmp_path / "recordings")
