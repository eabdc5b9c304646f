"""A server with a clock the test moves, and accounts of the one window's institutions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.config import Settings
from server.keys import USERS_KEY
from tests.clients import get_json, post_json


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Window:
    url: str
    app: web.Application
    clock: Clock

    async def staff(self, username: str, role: str, institution: str | None = None,
                    region: str | None = None) -> tuple[int, str]:
        user = await self.app[USERS_KEY].add(
            username=username, password="correct horse", role=role, display_name=f"{username}",
            skills=[], region=region, now=self.clock.now, institution=institution)
        status, body = await post_json(self.url, "/api/login",
                                       {"username": username, "password": "correct horse"})
        assert status == 200, body
        return user.id, body["token"]

    async def file(self, token: str | None = None, **overrides: Any) -> tuple[dict[str, Any], str]:
        body = {"item": "legal_aid", "region": "qz-kecheng", "category": "labour",
                "applicant_name": "张三", "applicant_phone": "13800138000",
                "statement": "公司拖欠工资三个月", "request": "追讨工资", "hardship": "statement",
                "materials": [{"code": "id_proof", "status": "provided"},
                              {"code": "hardship", "status": "provided"}]}
        body.update(overrides)
        status, reply = await post_json(self.url, "/api/applications", body, token)
        assert status == 201, reply
        return reply["application"], reply.get("token", "")

    async def act(self, token: str, application: dict[str, Any], action: str,
                  expect: int = 200, **extra: Any) -> dict[str, Any]:
        status, reply = await post_json(
            self.url, f"/api/applications/{application['id']}/actions/{action}",
            {"version": application["version"], **extra}, token)
        assert status == expect, reply
        return reply["application"] if status == 200 else reply

    async def get(self, token: str, application_id: str, expect: int = 200) -> dict[str, Any]:
        status, reply = await get_json(self.url, f"/api/applications/{application_id}", token)
        assert status == expect, reply
        return reply


@pytest.fixture
async def window(settings: Settings) -> AsyncIterator[Window]:
    from signaling.app.factory import create_app

    clock = Clock()
    app = create_app(settings, clock=clock)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield Window(str(server.make_url("")).rstrip("/"), app, clock)
    finally:
        await server.close()
