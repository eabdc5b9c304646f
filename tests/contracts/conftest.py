"""Backends for the contract suites: every implementation on a real service."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.db import Database
from server.migrate import upgrade
from signaling.queue import MemoryQueueStore, QueueStore, RedisQueueStore

from tests.backends import POSTGRES_URL, REDIS_URL
from tests.backends import unavailable as _unavailable


@pytest.fixture(params=["memory", "redis"])
async def queue_store(request: pytest.FixtureRequest) -> AsyncIterator[QueueStore]:
    if request.param == "memory":
        yield MemoryQueueStore()
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except OSError as exc:
        await redis.aclose()
        _unavailable("Redis", exc)
    prefix = f"test:{uuid.uuid4().hex}"
    store = RedisQueueStore(redis, prefix=prefix)
    yield store
    keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await store.close()


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
