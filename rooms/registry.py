"""Which media workers are alive and which worker hosts each room, in Redis.

Keys (``{p}`` is the deployment's prefix, ``parley`` by default). Everything is rebuilt by the
workers themselves: each heartbeat re-registers the worker and pins again (if unpinned) the rooms
it hosts, so after a Redis flush the map is whole again within one heartbeat.

  {p}:media:workers         set of worker ids registered and not yet retired (a worker whose
                            alive key expired is retired once its rooms have moved)
  {p}:media:worker:{wid}    string JSON ``{"rooms": n, "peer_connections": n}``, TTL
                            WORKER_TTL_S, refreshed every HEARTBEAT_S: the worker is alive
  {p}:media:room_worker     hash room id -> worker id: the room is pinned to that worker
  {p}:media:room_open       hash room id -> OpenRoom JSON: replayed on a new worker
  {p}:media:room_routing    hash room id -> SetRouting JSON (multi-party rooms): replayed too
  {p}:media:req:{wid}       pub/sub channel: requests to worker ``wid`` (``rooms.remote``)
  {p}:media:reply:{pid}     pub/sub channel: replies to signaling process ``pid``

Pinning and moving are Lua scripts, so two signaling processes never pin a room to two workers
and only one of them re-homes a room whose worker died.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from rooms.messages import OpenRoom, RoomId, SetRouting, message_from_dict

HEARTBEAT_S = 1.0
# A worker whose process died is noticed at once (its request channel loses its listener);
# the TTL only catches a process that hangs, and must not catch one that is merely busy.
WORKER_TTL_S = 15

# KEYS: room_worker, room_open. ARGV: room id, worker id, OpenRoom JSON.
# Pins the room to the worker unless it is pinned already; returns the room's worker.
PIN = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return ARGV[2]
"""

# KEYS: room_worker. ARGV: room id, expected worker id, new worker id.
# Moves the room if it still is on the expected worker; returns the room's worker (or false).
MOVE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return ARGV[3]
end
return current
"""


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


@dataclass(frozen=True)
class MediaKeys:
    prefix: str = "parley"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:media:workers"

    def alive(self, worker_id: str) -> str:
        return f"{self.prefix}:media:worker:{worker_id}"

    @property
    def room_worker(self) -> str:
        return f"{self.prefix}:media:room_worker"

    @property
    def room_open(self) -> str:
        return f"{self.prefix}:media:room_open"

    @property
    def room_routing(self) -> str:
        return f"{self.prefix}:media:room_routing"

    def requests(self, worker_id: str) -> str:
        return f"{self.prefix}:media:req:{worker_id}"

    def replies(self, process_id: str) -> str:
        return f"{self.prefix}:media:reply:{process_id}"


@dataclass(frozen=True)
class RoomRecord:
    """What a new worker needs to host a room again."""

    open: OpenRoom
    routing: SetRouting | None


def pick(live: dict[str, dict[str, Any]], exclude: Collection[str] = ()) -> str | None:
    """Of ``live`` (worker id -> load), the worker with the fewest rooms not in ``exclude``
    (ties broken at random), or None."""
    candidates = {w: load for w, load in live.items() if w not in exclude}
    if not candidates:
        return None
    fewest = min(int(load.get("rooms", 0)) for load in candidates.values())
    return random.choice([w for w, load in candidates.items()
                          if int(load.get("rooms", 0)) == fewest])


class WorkerRegistry:
    """The worker registry and the room->worker map (shared by workers and signaling)."""

    def __init__(self, redis: Redis, keys: MediaKeys, *, worker_ttl_s: float = WORKER_TTL_S) -> None:
        self._redis = redis
        self.keys = keys
        self._ttl_ms = int(worker_ttl_s * 1000)
        self._pin = redis.register_script(PIN)
        self._move = redis.register_script(MOVE)

    # --- workers -------------------------------------------------------------------------

    async def heartbeat(self, worker_id: str, load: dict[str, int],
                        rooms: dict[RoomId, OpenRoom]) -> None:
        """The worker is alive; the rooms it hosts are pinned to it unless pinned elsewhere."""
        k = self.keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(k.alive(worker_id), json.dumps(load), px=self._ttl_ms)
            pipe.sadd(k.workers, worker_id)
            await pipe.execute()
        for room_id, message in rooms.items():
            await self._pin(keys=[k.room_worker, k.room_open],
                            args=[room_id, worker_id, json.dumps(message.to_dict())])

    async def retire(self, worker_id: str) -> None:
        """A worker shutting down: no longer alive (its rooms move at once)."""
        await self._redis.delete(self.keys.alive(worker_id))

    async def live_workers(self) -> dict[str, dict[str, Any]]:
        """Alive worker id -> its last reported load."""
        ids = sorted(_text(w) for w in await self._redis.smembers(self.keys.workers))
        if not ids:
            return {}
        loads = await self._redis.mget([self.keys.alive(w) for w in ids])
        alive = {w: json.loads(raw) for w, raw in zip(ids, loads, strict=True) if raw is not None}
        if alive:
            # A worker process that died has closed its Redis connection, so nobody listens on
            # its request channel: noticed at once, where the key's TTL (kept generous, so a
            # process busy for a few seconds is not declared dead) would notice late.
            counts = await self._redis.pubsub_numsub(*(self.keys.requests(w) for w in alive))
            listened = {_text(channel) for channel, listeners in counts if listeners}
            alive = {w: load for w, load in alive.items() if self.keys.requests(w) in listened}
        return alive

    # --- rooms ---------------------------------------------------------------------------

    async def pin(self, message: OpenRoom, worker_id: str) -> str:
        """Pin the room to ``worker_id`` unless it is pinned; returns the room's worker."""
        k = self.keys
        return _text(await self._pin(keys=[k.room_worker, k.room_open],
                                     args=[message.room_id, worker_id,
                                           json.dumps(message.to_dict())]))

    async def pinned(self) -> frozenset[RoomId]:
        """Every room pinned to a worker (a dead worker's rooms too: the sweep moves them)."""
        return frozenset(RoomId(_text(r)) for r in await self._redis.hkeys(self.keys.room_worker))

    async def worker_of(self, room_id: RoomId) -> str | None:
        raw = await self._redis.hget(self.keys.room_worker, room_id)
        return _text(raw) if raw is not None else None

    async def move(self, room_id: RoomId, expected: str, worker_id: str) -> str | None:
        """Move the room from ``expected`` to ``worker_id`` if nobody moved it meanwhile;
        returns where the room is now."""
        raw = await self._move(keys=[self.keys.room_worker], args=[room_id, expected, worker_id])
        return _text(raw) if raw else None

    async def set_routing(self, message: SetRouting) -> None:
        await self._redis.hset(self.keys.room_routing, message.room_id, json.dumps(message.to_dict()))

    async def record(self, room_id: RoomId) -> RoomRecord | None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(self.keys.room_open, room_id)
        pipe.hget(self.keys.room_routing, room_id)
        opened, routing = await pipe.execute()
        if opened is None:
            return None
        open_message = message_from_dict(json.loads(opened))
        routing_message = message_from_dict(json.loads(routing)) if routing else None
        assert isinstance(open_message, OpenRoom)
        assert routing_message is None or isinstance(routing_message, SetRouting)
        return RoomRecord(open_message, routing_message)

    async def forget(self, room_id: RoomId) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hdel(self.keys.room_worker, room_id)
            pipe.hdel(self.keys.room_open, room_id)
            pipe.hdel(self.keys.room_routing, room_id)
            await pipe.execute()

    async def orphans(self) -> dict[RoomId, str]:
        """Rooms pinned to workers that are no longer alive: room id -> dead worker id.
        Retired workers with no rooms left are dropped from the worker set."""
        pinned = {RoomId(_text(r)): _text(w)
                  for r, w in (await self._redis.hgetall(self.keys.room_worker)).items()}
        live = await self.live_workers()
        known = {_text(w) for w in await self._redis.smembers(self.keys.workers)}
        hosting = set(pinned.values())
        gone = [w for w in known if w not in live and w not in hosting]
        if gone:
            await self._redis.srem(self.keys.workers, *gone)
        return {room: w for room, w in pinned.items() if w not in live}
