"""Expiring TURN credentials: the TURN REST API's HMAC-SHA1 (checked against openssl), served by
GET /api/config only when configured, and the settings that go together."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from rooms.ice import ice_servers_from_dicts
from rooms.turn import turn_credentials
from server.config import ConfigError, Settings

URL = "turn:turn.example.org:3478?transport=udp"


def test_credentials_follow_the_turn_rest_api() -> None:
    # printf '1700003600:parley' | openssl dgst -sha1 -hmac 'coturn-shared-secret' -binary | base64
    server = turn_credentials(b"coturn-shared-secret", [URL], now=1_700_000_000.7, ttl_s=3600)
    assert server == {"urls": [URL], "username": "1700003600:parley",
                      "credential": "9gntn/xLh8Ezy5P3TwA6zZjbZfY="}
    ice_servers_from_dicts([server])  # a valid RTCIceServer for aiortc too


@pytest.mark.parametrize("env", [
    {"PARLEY_TURN_SECRET": "s"},
    {"PARLEY_TURN_URLS": URL},
    {"PARLEY_TURN_SECRET": "s", "PARLEY_TURN_URLS": "http://x"},
    {"PARLEY_TURN_SECRET": "s", "PARLEY_TURN_URLS": URL, "PARLEY_TURN_TTL_S": "5"},
    {"PARLEY_REDIS_PREFIX": "bad prefix"},
])
def test_bad_cluster_settings_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="PARLEY_"):
        Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), **env})


async def test_api_config_hands_out_expiring_credentials(tmp_path: Path) -> None:
    from signaling.app.factory import create_app

    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_TURN_SECRET": "k" * 16,
                                  "PARLEY_TURN_URLS": f"{URL}, turns:turn.example.org:5349",
                                  "PARLEY_TURN_TTL_S": "600"})
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session, \
                session.get(str(server.make_url("/api/config"))) as response:
            body = await response.json()
    finally:
        await server.close()
    (turn,) = body["ice_servers"]
    assert turn["urls"] == [URL, "turns:turn.example.org:5349"]
    expiry, user = turn["username"].split(":")
    assert user == "parley"
    assert 590 <= int(expiry) - time.time() <= 601
    assert turn == turn_credentials(b"k" * 16, turn["urls"], now=int(expiry) - 600, ttl_s=600)
