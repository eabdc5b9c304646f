"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from server.db import Database
from server.migrate import pending_differences, upgrade


async def test_migrations_match_the_models(database: Database) -> None:
    assert await pending_differences(database) == []


async def test_upgrade_is_idempotent(database: Database) -> None:
    await upgrade(database)
    assert await pending_differences(database) == []
