"""Shared fixtures: settings in a temporary folder, a running server, clients and accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.config import Settings
from server.keys import CASES_KEY, USERS_KEY
from tests.clients import SocketClient, intake_body, post_json


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
    from signaling.app.factory import create_app

    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield Running(str(server.make_url("")).rstrip("/"), app)
    finally:
        await server.close()


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
