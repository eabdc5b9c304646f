"""The per-process relay over the real Redis: a personal push from another process arrives
through the owner's channel without touching the manager's fan-out channel; unknown targets
fall back to the fan-out; dead owners are ignored; a lost presence map is written again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from signaling.cluster_keys import ClusterKeys
from signaling.relay import ClusterRedisManager, ProcessRelay
from tests.backends import REDIS_URL, unavailable


@dataclass
class Node:
    url: str
    relay: ProcessRelay


@dataclass
class Pair:
    a: Node
    b: Node
    keys: ClusterKeys
    redis: Redis
    fanout: list[Any]


async def _wait(condition: Any, what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except (OSError, RedisConnectionError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    keys = ClusterKeys(f"test-relay-{uuid.uuid4().hex[:8]}")
    # Everything published on the manager's fan-out channel, to prove it stays quiet.
    fanout: list[Any] = []
    watcher = redis.pubsub(ignore_subscribe_messages=True)
    await watcher.subscribe(keys.socketio_channel)

    async def watch() -> None:
        while True:
            message = await watcher.get_message(timeout=1.0)
            if message is not None:
                fanout.append(message["data"])

    watching = asyncio.create_task(watch())
    servers, nodes = [], []
    for name in ("a", "b"):
        manager = ClusterRedisManager(REDIS_URL, channel=keys.socketio_channel)
        sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

        async def connect(sid: str, environ: object, auth: Any,
                          sio: socketio.AsyncServer = sio) -> None:
            await sio.enter_room(sid, f"user:{auth['user']}")

        sio.on("connect", connect)
        relay = ProcessRelay(sio, manager, Redis.from_url(REDIS_URL), f"proc-{name}", keys,
                             heartbeat_s=0.2, process_ttl_s=2)
        app = web.Application()
        sio.attach(app)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        await relay.start()
        servers.append(server)
        nodes.append(Node(str(server.make_url("")).rstrip("/"), relay))
    try:
        yield Pair(nodes[0], nodes[1], keys, redis, fanout)
    finally:
        for node in nodes:
            await node.relay.close()
        for server in servers:
            await server.close()
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await watcher.aclose()
        stale = [k async for k in redis.scan_iter(match=f"{keys.prefix}:*")]
        if stale:
            await redis.delete(*stale)
        await redis.aclose()


async def _client(url: str, user: str, inbox: list[Any]) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    client.on("hello", lambda data: inbox.append(data))
    await client.connect(url, auth={"user": user}, transports=["websocket"])
    return client


async def test_a_personal_push_goes_to_the_owning_process_only(pair: Pair) -> None:
    inbox: list[Any] = []
    client = await _client(pair.a.url, "7", inbox)
    try:
        await _wait(lambda: _owned(pair.b.relay, "user:7", ["proc-a"]), "presence of user 7")
        for n in range(50):
            await pair.b.relay.emit("hello", {"n": n}, "user:7")

        async def all_in() -> bool:
            return len(inbox) == 50

        await _wait(all_in, "50 pushes")
        assert [m["n"] for m in inbox] == list(range(50))  # in order
        assert pair.b.relay.sent_direct == 50 and pair.b.relay.sent_fanout == 0
        # A push from the owner itself stays in process.
        await pair.a.relay.emit("hello", {"n": 50}, "user:7")
        await _wait(lambda: _count(inbox, 51), "local push")
        await asyncio.sleep(0.2)
        assert pair.fanout == [], "a personal push went through the fan-out channel"
    finally:
        await client.disconnect()
    # b has cached proc-a as the owner: only a's where-changed announcement clears it in time.
    await _wait(lambda: _owned(pair.b.relay, "user:7", []), "presence removed on disconnect")


async def test_a_push_here_reaches_only_this_process_s_connections(pair: Pair) -> None:
    """What every process computes alike (the tick's queue positions) is pushed by each to its
    own connections: one copy per connection, however many processes push it."""
    inbox: list[Any] = []
    client = await _client(pair.a.url, "8", inbox)
    try:
        assert not await pair.b.relay.emit_here("hello", {"n": 0}, "user:8")
        assert await pair.a.relay.emit_here("hello", {"n": 1}, ["user:8", "user:nobody"])
        await _wait(lambda: _count(inbox, 1), "the push from the holding process")
        await _wait(lambda: _owned(pair.b.relay, "user:8", ["proc-a"]), "presence of user 8")
        await pair.b.relay.emit("hello", {"n": 2}, "user:8")  # after b's push, on one path
        await _wait(lambda: _count(inbox, 2), "a relayed push")
        assert [m["n"] for m in inbox] == [1, 2]
    finally:
        await client.disconnect()


async def test_unknown_and_dead_owners_fall_back_to_the_fan_out(pair: Pair) -> None:
    inbox: list[Any] = []
    client = await _client(pair.a.url, "8", inbox)
    try:
        await _wait(lambda: _owned(pair.b.relay, "user:8", ["proc-a"]), "presence of user 8")
        # An entry of a process that died without cleaning up is ignored and removed. Its write
        # was announced, as every write is: without that, proc-b may answer from its cache of
        # owners (read above) and never look at the entry.
        await pair.redis.hset(pair.keys.where("user:8"), "proc-dead", "1")
        await pair.redis.publish(pair.keys.where_changed_channel, json.dumps(["user:8"]))

        async def cleaned() -> bool:
            return (await pair.b.relay.owners("user:8") == ["proc-a"]
                    and await pair.redis.hkeys(pair.keys.where("user:8")) == [b"proc-a"])

        await _wait(cleaned, "the dead process's entry ignored and removed")
        # Nobody known for user:9: the manager's fan-out carries it (and delivers nothing).
        await pair.b.relay.emit("hello", {"n": 1}, "user:9")
        assert pair.b.relay.sent_fanout == 1
        # Broadcast targets always use the fan-out.
        await pair.b.relay.emit("hello", {"n": 2}, "agents")
        await _wait(lambda: _fanned(pair, 2), "two fan-out publishes")
    finally:
        await client.disconnect()


async def test_a_target_with_nobody_is_cached_until_its_first_connection(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes to a target nobody holds (a citizen who closed the page) do not read the map
    each time; the first connection's announcement clears that, so pushes then go direct."""
    relay = pair.b.relay
    await relay.emit("hello", {"n": 0}, "user:21")
    reads: list[str] = []
    hkeys = relay._redis.hkeys

    async def counted(key: str) -> Any:
        reads.append(key)
        return await hkeys(key)

    monkeypatch.setattr(relay._redis, "hkeys", counted)
    await relay.emit("hello", {"n": 1}, "user:21")
    assert reads == [] and relay.sent_fanout == 2 and relay.sent_direct == 0
    inbox: list[Any] = []
    client = await _client(pair.a.url, "21", inbox)
    try:
        await _wait(lambda: _owned(relay, "user:21", ["proc-a"]), "presence of user 21")
        await _wait(lambda: _fanned(pair, 2), "the two fan-out publishes")
        await relay.emit("hello", {"n": 2}, "user:21")
        await _wait(lambda: _count(inbox, 1), "the direct push")
        assert inbox == [{"n": 2}] and relay.sent_direct == 1 and relay.sent_fanout == 2
    finally:
        await client.disconnect()


async def test_a_lost_presence_map_is_written_again(pair: Pair) -> None:
    inbox: list[Any] = []
    client = await _client(pair.a.url, "10", inbox)
    try:
        await _wait(lambda: _owned(pair.b.relay, "user:10", ["proc-a"]), "presence of user 10")
        keys = [k async for k in pair.redis.scan_iter(match=f"{pair.keys.prefix}:*")]
        await pair.redis.delete(*keys)

        async def rebuilt() -> bool:  # in Redis itself: b's cache of owners would not tell
            return await pair.redis.hkeys(pair.keys.where("user:10")) == [b"proc-a"]

        await _wait(rebuilt, "presence rebuilt")
        await pair.b.relay.emit("hello", {"n": 1}, "user:10")
        await _wait(lambda: _count(inbox, 1), "push after the rebuild")
    finally:
        await client.disconnect()


async def test_one_push_to_several_targets_reaches_each_connection_once(pair: Pair) -> None:
    on_a: list[Any] = []
    on_b: list[Any] = []
    client_a = await _client(pair.a.url, "17", on_a)
    client_b = await _client(pair.b.url, "18", on_b)
    try:
        await _wait(lambda: _owned(pair.b.relay, "user:17", ["proc-a"]), "presence of user 17")
        await pair.b.relay.emit("hello", {"n": 1}, ["user:17", "user:18", "user:17"])
        # A marker after it on the same paths: a duplicate would arrive before the marker.
        await pair.b.relay.emit("hello", {"n": 2}, "user:17")
        await pair.b.relay.emit("hello", {"n": 2}, "user:18")
        await _wait(lambda: _count(on_a, 2), "both pushes on a")
        await _wait(lambda: _count(on_b, 2), "both pushes on b")
        assert [m["n"] for m in on_a] == [1, 2] and [m["n"] for m in on_b] == [1, 2]
        assert pair.fanout == [], "a personal push went through the fan-out channel"
    finally:
        await client_a.disconnect()
        await client_b.disconnect()


async def test_a_malformed_push_is_skipped_and_the_channel_keeps_working(pair: Pair) -> None:
    inbox: list[Any] = []
    client = await _client(pair.a.url, "19", inbox)
    try:
        await _wait(lambda: _owned(pair.b.relay, "user:19", ["proc-a"]), "presence of user 19")
        channel = pair.keys.push_channel("proc-a")
        assert await pair.redis.publish(channel, "not json") == 1
        assert await pair.redis.publish(channel, '{"e": "hello"}') == 1  # no data, no target
        await pair.b.relay.emit("hello", {"n": 1}, "user:19")
        await _wait(lambda: _count(inbox, 1), "the push after the malformed ones")
        assert inbox == [{"n": 1}]
    finally:
        await client.disconnect()


async def _owned(relay: ProcessRelay, target: str, expected: list[str]) -> bool:
    return await relay.owners(target) == expected


async def _count(inbox: list[Any], n: int) -> bool:
    return len(inbox) == n


async def _fanned(pair: Pair, n: int) -> bool:
    return len(pair.fanout) >= n
