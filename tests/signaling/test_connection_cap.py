"""Live socket connections per token are capped (issue 14, point 6): the connection past the
cap is refused with ``too_many_connections``, in one process and across processes on Redis;
a disconnect gives its place back, and so does a process that died."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
from redis.asyncio import Redis

from server.config import Settings
from signaling.cluster_keys import ClusterKeys
from signaling.connections import MemoryConnectionLedger, RedisConnectionLedger, token_key
from tests import backends
from tests.clients import SocketClient
from tests.conftest import Running, serving

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def refusal(url: str, token: str) -> Any:
    """The error data of a connection that must be refused."""
    client = SocketClient(url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(token)
    return (await client.wait_for("connect_error"))["data"]


async def connected(url: str, token: str, clients: list[SocketClient]) -> bool:
    """Whether a connection with ``token`` is accepted now (kept in ``clients``)."""
    client = SocketClient(url)
    try:
        await client.connect(token)
    except socketio.exceptions.ConnectionError:
        return False
    clients.append(client)
    return True


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_the_sixth_connection_of_a_token_is_refused(running: Running,
                                                         connect: Connect) -> None:
    await running.add_lawyer()
    token = await running.login()
    clients = [await connect(token) for _ in range(5)]
    error = await refusal(running.url, token)
    assert error["code"] == "too_many_connections"
    # Another token has its own places (a second sign-in within the same second would get the
    # very same token, so another account stands in for it).
    await running.add_lawyer("lawyer2")
    await connect(await running.login("lawyer2"))
    # A disconnect gives the place back.
    await clients[0].close()

    await eventually(lambda: connected(running.url, token, clients), "the freed place")
    for client in clients[1:]:
        await client.close()


async def test_citizen_tokens_are_capped_too(running: Running, connect: Connect) -> None:
    _, token = await running.intake()
    for _ in range(5):
        await connect(token)
    assert (await refusal(running.url, token))["code"] == "too_many_connections"


async def test_the_cap_holds_across_processes_on_redis(tmp_path: Path, redis_prefix: str) -> None:
    env = {"REDIS_URL": backends.REDIS_URL, "PARLEY_REDIS_PREFIX": redis_prefix,
           "PARLEY_SECRET_KEY": "k" * 32, "PARLEY_CONNECTIONS_PER_TOKEN": "3",
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shared.db"}
    first = Settings.from_env({**env, "PARLEY_DATA_DIR": str(tmp_path / "a")})
    second = Settings.from_env({**env, "PARLEY_DATA_DIR": str(tmp_path / "b")})
    clients: list[SocketClient] = []
    async with serving(first) as a, serving(second) as b:
        await a.add_lawyer()
        token = await a.login()
        for url in (a.url, b.url, a.url):
            client = SocketClient(url)
            await client.connect(token)
            clients.append(client)
        assert (await refusal(b.url, token))["code"] == "too_many_connections"
        assert (await refusal(a.url, token))["code"] == "too_many_connections"
        await clients.pop(1).close()  # the one on b

        await eventually(lambda: connected(a.url, token, clients),
                         "the place freed on the other process")
        for client in clients:
            await client.close()


async def test_the_memory_ledger_counts_and_releases() -> None:
    ledger = MemoryConnectionLedger()
    assert [await ledger.claim("t", f"s{i}", 2, 60) for i in range(3)] == [True, True, False]
    assert await ledger.claim("other", "s9", 2, 60)
    await ledger.release("s0")
    await ledger.release("unknown")
    assert await ledger.claim("t", "s3", 2, 60)


async def test_places_of_a_dead_process_are_given_back(redis_prefix: str) -> None:
    keys = ClusterKeys(redis_prefix)
    redis = Redis.from_url(backends.REDIS_URL)
    try:
        await redis.set(keys.process("alive"), "1", ex=30)
        await redis.set(keys.process("doomed"), "1", ex=30)
        alive = RedisConnectionLedger(redis, keys, "alive")
        doomed = RedisConnectionLedger(redis, keys, "doomed")
        assert await doomed.claim("t", "s1", 2, 60)
        assert await alive.claim("t", "s2", 2, 60)
        assert not await alive.claim("t", "s3", 2, 60)
        await redis.delete(keys.process("doomed"))  # its liveness key expired: it died
        assert await alive.claim("t", "s3", 2, 60)
        assert not await alive.claim("t", "s4", 2, 60)
        ttl = await redis.ttl(keys.connections(token_key("t")))
        assert 0 < ttl <= 60
    finally:
        await redis.aclose()
