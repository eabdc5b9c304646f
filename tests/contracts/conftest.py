"""Backends for the contract suites: every implementation on a real service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from server.db import Database
from server.migrate import upgrade
from tests.backends import POSTGRES_URL
from tests.backends import unavailable as _unavailable


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/contract.db")
        await upgrade(db)
        yield db
        await db.close()
        return
    # Each test gets its own schema in the shared `test` database.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    try:
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except OSError as exc:
        await admin.close()
        _unavailable("PostgreSQL", exc)
    db = Database(POSTGRES_URL, schema=schema)
    await upgrade(db)
    yield db
    await db.close()
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    await admin.close()
