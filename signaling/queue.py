"""The waiting queue behind one small protocol, with memory and Redis backends.

This version serves first-in-first-out: the order is (enqueued time, case id). The routing
engine replaces ``claim_next``'s choice, not the protocol's shape. Redis holds nothing the
database cannot rebuild: ``rebuild`` reloads waiting cases in their original order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class QueueEntry:
    case_id: str
    enqueued_at: float  # unix seconds: the order key, kept through a rebuild
    service_type: str
    category: str
    mode: str
    region: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> QueueEntry:
        return cls(**json.loads(raw))


class QueueStore(Protocol):
    """Waiting tasks in service order. ``claim_next`` is atomic: one entry, one claimer."""

    async def add(self, entry: QueueEntry) -> None:
        """Queue ``entry``; adding a case already queued changes nothing."""
        ...

    async def remove(self, case_id: str) -> bool:
        """Take a case out (left, abandoned); False if it was not queued."""
        ...

    async def claim_next(self) -> QueueEntry | None:
        """Remove and return the first entry, or None when empty."""
        ...

    async def entries(self) -> list[QueueEntry]:
        """Every waiting entry, first to be served first."""
        ...

    async def rebuild(self, entries: list[QueueEntry]) -> None:
        """Replace the whole queue (start-up, after a Redis loss) with ``entries``."""
        ...

    async def close(self) -> None: ...


def _order_key(entry: QueueEntry) -> tuple[float, str]:
    return (entry.enqueued_at, entry.case_id)


class MemoryQueueStore:
    """One process's queue. The lock makes each operation atomic across tasks."""

    def __init__(self) -> None:
        self._entries: dict[str, QueueEntry] = {}
        self._lock = asyncio.Lock()

    async def add(self, entry: QueueEntry) -> None:
        async with self._lock:
            self._entries.setdefault(entry.case_id, entry)

    async def remove(self, case_id: str) -> bool:
        async with self._lock:
            return self._entries.pop(case_id, None) is not None

    async def claim_next(self) -> QueueEntry | None:
        async with self._lock:
            if not self._entries:
                return None
            first = min(self._entries.values(), key=_order_key)
            del self._entries[first.case_id]
            return first

    async def entries(self) -> list[QueueEntry]:
        async with self._lock:
            return sorted(self._entries.values(), key=_order_key)

    async def rebuild(self, entries: list[QueueEntry]) -> None:
        async with self._lock:
            self._entries = {e.case_id: e for e in entries}

    async def close(self) -> None:
        return None


# Redis keys (prefix configurable so tests use their own namespace):
#   {prefix}:order   sorted set, member case id, score enqueued_at; no TTL, rebuilt from the DB
#   {prefix}:entry   hash, case id -> entry JSON; no TTL
_CLAIM_FIRST = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if #first == 0 then return false end
redis.call('ZREM', KEYS[1], first[1])
local body = redis.call('HGET', KEYS[2], first[1])
redis.call('HDEL', KEYS[2], first[1])
return body
"""

_ADD = """
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1
"""

_REMOVE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
"""


class RedisQueueStore:
    """The queue shared by every process, claims made atomic by Lua scripts.

    Ties on ``enqueued_at`` are broken by case id, as in memory: Redis orders equal scores
    lexicographically by member.
    """

    def __init__(self, redis: Redis, prefix: str = "parley:queue") -> None:
        self._redis = redis
        self._order = f"{prefix}:order"
        self._entry = f"{prefix}:entry"
        self._claim = redis.register_script(_CLAIM_FIRST)
        self._add = redis.register_script(_ADD)
        self._remove = redis.register_script(_REMOVE)

    async def add(self, entry: QueueEntry) -> None:
        await self._add(
            keys=[self._order, self._entry],
            args=[entry.case_id, entry.enqueued_at, entry.to_json()],
        )

    async def remove(self, case_id: str) -> bool:
        return bool(await self._remove(keys=[self._order, self._entry], args=[case_id]))

    async def claim_next(self) -> QueueEntry | None:
        body = await self._claim(keys=[self._order, self._entry])
        return QueueEntry.from_json(body) if body else None

    async def entries(self) -> list[QueueEntry]:
        ids = await self._redis.zrange(self._order, 0, -1)
        if not ids:
            return []
        bodies = await self._redis.hmget(self._entry, ids)
        return [QueueEntry.from_json(b) for b in bodies if b is not None]

    async def rebuild(self, entries: list[QueueEntry]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._order, self._entry)
            for entry in entries:
                pipe.hset(self._entry, entry.case_id, entry.to_json())
                pipe.zadd(self._order, {entry.case_id: entry.enqueued_at})
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def create_queue_store(redis_url: str | None) -> QueueStore:
    """Redis when ``REDIS_URL`` is set, memory otherwise."""
    if redis_url is None:
        return MemoryQueueStore()
    return RedisQueueStore(Redis.from_url(redis_url))
