"""RemoteMediaWorker and MediaWorkerService over the real Redis: requests reach the room's worker,
refusals keep their codes, a silent worker times out, a dead worker's rooms move and media flows
again through the new one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.media.local import LocalMediaWorker
from rooms.messages import (
    Ack,
    CloseRoom,
    ErrorReply,
    GetStats,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
    SetRouting,
    WorkerStats,
)
from rooms.registry import MediaKeys, WorkerRegistry
from rooms.remote import RemoteMediaWorker
from rooms.serve import MediaWorkerService
from tests.backends import REDIS_URL, unavailable
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("room-1")


@dataclass
class Rig:
    redis: Redis
    registry: WorkerRegistry
    remote: RemoteMediaWorker
    services: dict[str, MediaWorkerService] = field(default_factory=dict)
    workers: dict[str, LocalMediaWorker] = field(default_factory=dict)
    moved: list[RoomId] = field(default_factory=list)

    async def add_worker(self, worker_id: str) -> None:
        local = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
        service = MediaWorkerService(self.redis, self.registry, local, worker_id, heartbeat_s=0.2)
        await service.start()
        self.workers[worker_id] = local
        self.services[worker_id] = service

    async def kill(self, worker_id: str) -> None:
        """The worker stops answering and its heartbeat key goes (as on expiry)."""
        await self.services.pop(worker_id).close()
        await self.workers.pop(worker_id).close()


async def delete_prefix(redis: Redis, prefix: str) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except (OSError, RedisConnectionError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    prefix = f"test-media-{uuid.uuid4().hex[:8]}"
    registry = WorkerRegistry(redis, MediaKeys(prefix), worker_ttl_s=1.0)
    moved: list[RoomId] = []

    async def on_rehomed(room_id: RoomId) -> None:
        moved.append(room_id)

    rig = Rig(redis, registry, RemoteMediaWorker(redis, registry, "signaling-1", timeout_s=2.0,
                                                 on_rehomed=on_rehomed), moved=moved)
    try:
        yield rig
    finally:
        await rig.remote.close()
        for worker_id in list(rig.services):
            await rig.kill(worker_id)
        await delete_prefix(redis, prefix)
        await redis.aclose()


async def test_requests_reach_the_rooms_worker_with_their_codes(rig: Rig) -> None:
    await rig.add_worker("w1")
    assert await rig.remote.request(OpenRoom(ROOM)) == Ack()
    assert await rig.registry.worker_of(ROOM) == "w1"
    stats = await rig.remote.request(GetStats())
    assert isinstance(stats, WorkerStats) and stats.rooms == 1
    refused = await rig.remote.request(Negotiate(ROOM, ParticipantId("a"), "not sdp"))
    assert isinstance(refused, ErrorReply) and refused.code == "bad_sdp"
    unknown = await rig.remote.request(Negotiate(RoomId("nope"), ParticipantId("a"), "x"))
    assert isinstance(unknown, ErrorReply) and unknown.code == "not_found"
    assert await rig.remote.request(CloseRoom(ROOM)) == Ack()
    assert await rig.registry.worker_of(ROOM) is None
    stats = await rig.remote.request(GetStats())
    assert isinstance(stats, WorkerStats) and stats.rooms == 0


async def test_no_worker_or_a_silent_worker_is_media_unavailable(rig: Rig) -> None:
    reply = await rig.remote.request(OpenRoom(ROOM))
    assert isinstance(reply, ErrorReply) and reply.code == "media_unavailable"
    # Registered and listening, but never answering.
    pubsub = rig.redis.pubsub()
    await pubsub.subscribe(rig.registry.keys.requests("mute"))
    try:
        await rig.registry.heartbeat("mute", {"rooms": 0}, {})
        started = asyncio.get_running_loop().time()
        reply = await rig.remote.request(OpenRoom(ROOM))
        assert isinstance(reply, ErrorReply) and reply.code == "media_unavailable"
        assert 1.5 < asyncio.get_running_loop().time() - started < 5
    finally:
        await pubsub.aclose()


async def test_a_dead_workers_rooms_move_and_media_flows_again(rig: Rig) -> None:
    await rig.add_worker("w1")
    assert await rig.remote.request(OpenRoom(ROOM)) == Ack()
    routing = SetRouting(ROOM, allowed=((ParticipantId("a"), ParticipantId("b")),))
    assert (await rig.remote.request(routing)).type == "routing_table"
    await rig.add_worker("w2")
    await rig.kill("w1")

    await rig.remote.sweep()
    assert await rig.registry.worker_of(ROOM) == "w2"
    assert rig.moved == [ROOM]
    record = await rig.registry.record(ROOM)
    assert record is not None and record.routing == routing
    await rig.remote.sweep()  # nothing left to move
    assert rig.moved == [ROOM]

    # A fresh room on the new worker carries real media through Redis.
    room = RoomId("room-2")
    assert await rig.remote.request(OpenRoom(room)) == Ack()
    alice = Client(rig.remote, room, "alice", luma=40)
    bob = Client(rig.remote, room, "bob", luma=200)
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: alice.video_count > 5 and bob.video_count > 5,
                         "both clients decode video forwarded by the remote worker")
    finally:
        await alice.close()
        await bob.close()


async def test_a_process_that_never_asked_a_worker_rehomes_a_room_at_once(rig: Rig) -> None:
    """Two signaling processes: the room was opened by one, the other's sweep moves it. Its
    first message to a worker is the sweep's OpenRoom, whose reply it must be listening for."""
    await rig.add_worker("w1")
    assert await rig.remote.request(OpenRoom(ROOM)) == Ack()
    other = RemoteMediaWorker(rig.redis, rig.registry, "signaling-2", timeout_s=30.0)
    try:
        await rig.add_worker("w2")
        await rig.kill("w1")
        sweep = asyncio.create_task(other.sweep())
        await eventually(lambda: sweep.done(), "the sweep done (not waiting for a lost reply)",
                         timeout=10)
        await sweep
        assert await rig.registry.worker_of(ROOM) == "w2"
        assert ROOM in rig.workers["w2"].room_ids()
    finally:
        await other.close()


async def test_a_worker_pins_its_rooms_again_after_redis_lost_them(rig: Rig) -> None:
    await rig.add_worker("w1")
    assert await rig.remote.request(OpenRoom(ROOM)) == Ack()
    await delete_prefix(rig.redis, rig.registry.keys.prefix)

    async def pinned() -> bool:
        return await rig.registry.worker_of(ROOM) == "w1"

    deadline = asyncio.get_running_loop().time() + 5
    while not await pinned():
        assert asyncio.get_running_loop().time() < deadline, "room not pinned again"
        await asyncio.sleep(0.1)
    assert "w1" in await rig.registry.live_workers()


async def test_a_worker_nobody_listens_for_is_dead_before_its_key_expires(rig: Rig) -> None:
    # A generous key TTL keeps a busy worker alive; a process that died closed its connection,
    # so its request channel has no listener and it is dead at once.
    pubsub = rig.redis.pubsub()
    await pubsub.subscribe(rig.registry.keys.requests("busy"))
    try:
        await rig.registry.heartbeat("busy", {"rooms": 0}, {})
        await rig.registry.heartbeat("gone", {"rooms": 0}, {})
        assert "busy" in await rig.registry.live_workers()
        assert "gone" not in await rig.registry.live_workers()
    finally:
        await pubsub.aclose()
    deadline = asyncio.get_running_loop().time() + 5
    while "busy" in await rig.registry.live_workers():  # Redis drops the listener on close
        assert asyncio.get_running_loop().time() < deadline, "closed listener still counted"
        await asyncio.sleep(0.05)


async def test_the_live_workers_are_read_once_for_a_burst_of_rooms(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    await rig.add_worker("w1")
    reads = 0
    live_workers = rig.registry.live_workers

    async def counted() -> dict[str, dict[str, object]]:
        nonlocal reads
        reads += 1
        return await live_workers()

    monkeypatch.setattr(rig.registry, "live_workers", counted)
    rooms = [RoomId(f"burst-{i}") for i in range(3)]
    for room in rooms:
        assert await rig.remote.request(OpenRoom(room)) == Ack()
    for room in rooms:
        assert await rig.remote.request(CloseRoom(room)) == Ack()
    assert reads == 1


async def test_a_worker_started_after_the_live_workers_were_read_is_not_taken_for_dead(
        rig: Rig) -> None:
    """Another signaling process pinned a room to a worker this one has not seen yet: the room
    stays there (a remembered list of live workers is no proof of death)."""
    await rig.add_worker("w1")
    assert await rig.remote.request(OpenRoom(ROOM)) == Ack()  # remembers: w1 alone
    await rig.add_worker("w2")
    elsewhere = RoomId("room-elsewhere")
    assert await rig.registry.pin(OpenRoom(elsewhere), "w2") == "w2"
    refused = await rig.remote.request(Negotiate(elsewhere, ParticipantId("a"), "not sdp"))
    assert isinstance(refused, ErrorReply) and refused.code == "bad_sdp"  # reached w2
    assert await rig.registry.worker_of(elsewhere) == "w2" and rig.moved == []
