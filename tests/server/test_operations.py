"""Operations (issue 14, point 7): /metrics needs the configured scraper token (or, without
one, a direct loopback connection), whatever the spelling of its path; an export download
leaves nothing behind in the data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request
from yarl import URL

from server.config import ConfigError, Settings
from server.metrics_access import scraper_allowed
from tests.clients import SocketClient
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]

TOKEN = "m" * 40
PLAIN_SPELLINGS = ["/metrics", "/%6detrics", "/%6D%65%74%72%69%63%73", "/metric%73"]
OTHER_SPELLINGS = ["//metrics", "/metrics.", "/metrics/", "/./metrics", "/api/../metrics",
                   "/METRICS", "/metrics%2F", "/metrics;x", "/%2e/metrics", "/metrics%00"]


@pytest.fixture
async def with_token(tmp_path: Path) -> AsyncIterator[str]:
    from signaling.app.factory import create_app

    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                                  "PARLEY_METRICS_TOKEN": TOKEN})
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(
            URL(base + path, encoded=True), headers=headers or {}) as response:
        return response.status, await response.text()


async def test_a_configured_token_is_needed_even_from_loopback(with_token: str) -> None:
    # Behind a reverse proxy on this host, every request comes from 127.0.0.1.
    for path in PLAIN_SPELLINGS + OTHER_SPELLINGS:
        status, text = await _get(with_token, path)
        assert status in (401, 403, 404), (path, status)
        assert "parley_" not in text, path
        status, text = await _get(with_token, path, {"Authorization": "Bearer " + "x" * 40})
        assert status in (401, 403, 404) and "parley_" not in text, path
    for path in PLAIN_SPELLINGS:  # the same route, decoded: the same answer
        status, text = await _get(with_token, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "parley_queue_waiting" in text, path
    for path in OTHER_SPELLINGS:  # no other spelling reaches it
        status, text = await _get(with_token, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status in (400, 404) and "parley_" not in text, path


async def test_without_a_token_only_a_direct_loopback_connection_scrapes(running: Running
                                                                         ) -> None:
    status, text = await _get(running.url, "/metrics")
    assert status == 200 and "parley_queue_waiting" in text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        for path in PLAIN_SPELLINGS:
            status, text = await _get(running.url, path, {header: "203.0.113.9"})
            assert status == 401 and "parley_" not in text, (header, path)
    # A supervisor's sign-in still reads them, from anywhere.
    await running.add_lawyer("sup1", role="supervisor")
    token = await running.login("sup1")
    status, text = await _get(running.url, "/%6detrics",
                              {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {token}"})
    assert status == 200 and "parley_queue_waiting" in text


def test_the_scraper_rule() -> None:
    def request(remote: str, **headers: str) -> web.Request:
        return make_mocked_request("GET", "/metrics", headers=headers,
                                   transport=_Transport(remote))

    assert scraper_allowed(request("127.0.0.1"), None)
    assert scraper_allowed(request("::1"), None)
    assert not scraper_allowed(request("10.0.0.8"), None)
    assert not scraper_allowed(request("127.0.0.1", **{"X-Forwarded-For": "1.2.3.4"}), None)
    assert not scraper_allowed(request("127.0.0.1"), TOKEN.encode())
    assert scraper_allowed(request("10.0.0.8", Authorization=f"Bearer {TOKEN}"), TOKEN.encode())
    assert not scraper_allowed(request("10.0.0.8", Authorization=f"Bearer {TOKEN}x"),
                               TOKEN.encode())


class _Transport:
    def __init__(self, remote: str) -> None:
        self._remote = remote

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._remote, 40000) if name == "peername" else default


def test_the_token_setting_is_checked(tmp_path: Path) -> None:
    base = {"PARLEY_DATA_DIR": str(tmp_path)}
    assert Settings.from_env({**base, "PARLEY_METRICS_TOKEN": TOKEN}).metrics_token \
        == TOKEN.encode()
    assert Settings.from_env(base).metrics_token is None
    for bad in ("short", "x" * 31, "with a space" * 4):
        with pytest.raises(ConfigError, match="PARLEY_METRICS_TOKEN"):
            Settings.from_env({**base, "PARLEY_METRICS_TOKEN": bad})


def _files(root: Path) -> dict[str, int]:
    # The database may grow (audit entries); nothing else may.
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")
            if p.is_file() and ".db" not in p.name}


async def test_repeated_export_downloads_leave_nothing_behind(
        running: Running, connect: Connect, settings: Settings) -> None:
    from tests.clients import get_json
    from tests.signaling.recording.test_recording_flow import VERSION, matched

    citizen, lawyer, case_id, room_id, citizen_token = await matched(running, connect)
    for client in (citizen, lawyer):
        assert (await client.call("recording:consent", {
            "room_id": room_id, "decision": "granted", "version": VERSION}))["ok"]
    await citizen.wait_for("recording:state", lambda s: s["state"] == "recording")
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    await citizen.wait_for("recording:state", lambda s: s["state"] == "stopped")
    _, listing = await get_json(running.url, f"/api/cases/{case_id}/recordings",
                                token=citizen_token)
    recording_id = listing["recordings"][0]["id"]
    _, playback = await get_json(running.url, f"/api/recordings/{recording_id}",
                                 token=citizen_token)
    before = _files(settings.data_dir)
    sizes = set()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(running.url + playback["download_url"]) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/zip"
                body = await response.read()
                assert body[:2] == b"PK" and int(response.headers["Content-Length"]) == len(body)
                sizes.add(len(body))
    assert _files(settings.data_dir) == before
    assert len(sizes) == 1
