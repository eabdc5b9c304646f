"""Shared fixtures: settings in a temporary folder, a running server, clients and accounts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.config import Settings
from server.keys import CASES_KEY, USERS_KEY
from tests import backends
from tests.clients import SocketClient, intake_body, post_json

# Tests of real-time media (browsers, the media worker, phone calls) measure frames, gaps and
# audio on the machine's CPUs: run in parallel with each other they starve one another. Under
# pytest-xdist (`make test`: -n 2 --dist loadgroup) they share one worker, in turn, while the
# rest of the suite runs on the other.
MEDIA_FOLDERS = ("tests/e2e/", "tests/telephony/", "tests/rooms/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(folder in str(item.fspath) for folder in MEDIA_FOLDERS):
            item.add_marker(pytest.mark.xdist_group("media"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var")})


@dataclass
class Running:
    url: str
    app: web.Application

    async def add_lawyer(self, username: str = "lawyer1", **extra: Any) -> None:
        await self.app[USERS_KEY].add(
            username=username, password="correct horse", role=extra.get("role", "lawyer"),
            display_name=extra.get("display_name", f"{username} 律师"),
            skills=extra.get("skills", []), region=extra.get("region"), now=datetime.now(UTC),
        )

    async def login(self, username: str = "lawyer1") -> str:
        status, body = await post_json(self.url, "/api/login",
                                       {"username": username, "password": "correct horse"})
        assert status == 200, body
        token: str = body["token"]
        return token

    async def intake(self, **overrides: Any) -> tuple[str, str]:
        status, body = await post_json(self.url, "/api/intake", intake_body(**overrides))
        assert status == 201, body
        return body["case_id"], body["token"]

    @property
    def cases(self) -> Any:
        return self.app[CASES_KEY]


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with serving(settings) as found:
        yield found


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Running]:
    """A server on a free port of 127.0.0.1 for the time of the block."""
    from signaling.app.factory import create_app

    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield Running(str(server.make_url("")).rstrip("/"), app)
    finally:
        await server.close()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the real Redis, its keys deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    admin = Redis.from_url(backends.REDIS_URL)
    try:
        await admin.ping()
    except (RedisConnectionError, OSError) as exc:
        await admin.aclose()
        backends.unavailable("Redis", exc)
    yield prefix
    keys = [k async for k in admin.scan_iter(match=f"{prefix}:*")]
    if keys:
        await admin.delete(*keys)
    await admin.aclose()


@pytest.fixture
async def connect(running: Running) -> AsyncIterator[Callable[[str | None], Awaitable[SocketClient]]]:
    clients: list[SocketClient] = []

    async def make(token: str | None) -> SocketClient:
        client = SocketClient(running.url)
        await client.connect(token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
