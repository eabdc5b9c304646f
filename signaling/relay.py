"""One-to-one pushes straight to the process holding the client, not to every process.

python-socketio's Redis manager publishes every emit on one channel that every process reads and
decodes, even a push meant for one person connected to the sender's own process. Here each
signaling process keeps, in Redis, which processes hold connections of each personal target
(``user:ID``, ``case:ID``: the presence map), subscribes to a push channel of its own, and
``ProcessRelay.emit`` (a ``signaling.consultations.service.Notifier``) delivers a personal push locally
and/or on the owners' channels only. Broadcast targets (``agents``, ``supervisors``) and personal
targets with no known live owner go through the manager as before, so nothing is lost while the
map is being (re)built. Keys and TTLs: ``signaling.cluster_keys``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from signaling.bounded import BoundedCache
from signaling.cluster_keys import (
    HEARTBEAT_S,
    PROCESS_TTL_S,
    WHERE_TTL_S,
    ClusterKeys,
    is_personal,
)
from signaling.fanout import BlockingRedisManager
from signaling.here import emit_here

log = logging.getLogger(__name__)

LIVENESS_CACHE_S = 1.0
# Owners of a target are cached between changes: every change is announced on the
# where-changed channel; the age limit only bounds a missed announcement.
OWNERS_CACHE_S = 10.0
OWNERS_CACHED = 50_000  # targets; past it the oldest entry goes


class ClusterRedisManager(BlockingRedisManager):
    """The blocking-pool Redis manager that also reports when this process's first connection
    enters a personal room and its last one leaves it (to ``on_change(target, present)``)."""

    on_change: Callable[[str, bool], None] | None = None

    def basic_enter_room(self, sid: str, namespace: str, room: str | None,
                         eio_sid: str | None = None) -> None:
        fresh = room is not None and not self.rooms.get(namespace, {}).get(room)
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if fresh and self.on_change is not None and is_personal(str(room)):
            self.on_change(str(room), True)

    def basic_leave_room(self, sid: str, namespace: str, room: str | None) -> None:
        members = self.rooms.get(namespace, {}).get(room)
        was_member = members is not None and sid in members
        super().basic_leave_room(sid, namespace, room)
        emptied = was_member and not self.rooms.get(namespace, {}).get(room)
        if emptied and self.on_change is not None and is_personal(str(room)):
            self.on_change(str(room), False)


class ProcessRelay:
    """This process's presence-map entries, its push channel, and the ``Notifier`` that uses
    them. ``start`` and ``close`` are owned by the application's lifecycle."""

    def __init__(self, sio: socketio.AsyncServer, manager: ClusterRedisManager, redis: Redis,
                 process_id: str, keys: ClusterKeys, *, heartbeat_s: float = HEARTBEAT_S,
                 process_ttl_s: int = PROCESS_TTL_S) -> None:
        self._sio = sio
        self._redis = redis
        self.process_id = process_id
        self._keys = keys
        self._heartbeat_s = heartbeat_s
        self._ttl_s = process_ttl_s
        self._local: set[str] = set()  # personal targets with a connection in this process
        self._changes: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._alive: dict[str, tuple[bool, float]] = {}
        self._owners_cache: BoundedCache[str, tuple[list[str], float]] = BoundedCache(
            OWNERS_CACHED)
        self._where_news = 0  # where-changed announcements received (see _owners)
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub: Any = None
        self._closed = False
        self.sent_direct = 0  # pushes delivered on a process channel (or locally)
        self.sent_fanout = 0  # personal pushes that fell back to the manager
        manager.on_change = self._on_change

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._redis.set(self._keys.process(self.process_id), "1", ex=self._ttl_s)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._keys.push_channel(self.process_id),
                                     self._keys.where_changed_channel)
        self._tasks = [asyncio.create_task(self._listen(), name="relay listen"),
                       asyncio.create_task(self._write_changes(), name="relay presence"),
                       asyncio.create_task(self._heartbeat(), name="relay heartbeat")]

    async def close(self) -> None:
        """Stop listening and leave the presence map; idempotent."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            if self._pubsub is not None:
                await self._pubsub.aclose()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(self._keys.process(self.process_id))
                for target in self._local:
                    pipe.hdel(self._keys.where(target), self.process_id)
                await pipe.execute()
        except (OSError, RedisError) as exc:
            log.warning("relay: could not leave the presence map: %s", exc)
        await self._redis.aclose()

    # --- the Notifier --------------------------------------------------------------------

    async def emit(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> None:
        """Push ``event`` to every connection in ``to`` (one target or several: then each
        connection gets it once and each process one message), through the cheapest path that
        reaches them all."""
        targets = [to] if isinstance(to, str) else list(to)
        broadcast = [t for t in targets if not is_personal(t)]
        if broadcast:
            await self._sio.emit(event, data, to=_one(broadcast))
        local: list[str] = []
        unknown: list[str] = []
        remote: dict[str, list[str]] = {}
        for target in targets:
            if not is_personal(target):
                continue
            owners = [p for p in await self._owners(target) if p != self.process_id]
            if target in self._local:
                local.append(target)
            elif not owners:
                # Unknown (not connected, or the map is still being written): every process.
                unknown.append(target)
            for process_id in owners:
                remote.setdefault(process_id, []).append(target)
        if unknown:
            self.sent_fanout += len(unknown)
            await self._sio.emit(event, data, to=_one(unknown))
        if local:
            await self._sio.emit(event, data, to=_one(local), ignore_queue=True)
        for process_id, process_targets in remote.items():
            message = json.dumps({"e": event, "d": data, "t": _one(process_targets)})
            # 0 receivers: that process just died; its clients reconnect elsewhere and
            # resume (the resume events return the current state).
            if not await self._redis.publish(self._keys.push_channel(process_id), message):
                self._alive[process_id] = (False, time.monotonic())
        self.sent_direct += sum(1 for t in targets if is_personal(t)) - len(unknown)

    async def emit_here(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> bool:
        return await emit_here(self._sio, event, data, to)

    async def owners(self, target: str) -> list[str]:
        """The live processes holding a connection in ``target`` (tests, metrics)."""
        return await self._owners(target)

    async def _owners(self, target: str) -> list[str]:
        now = time.monotonic()
        cached = self._owners_cache.get(target)
        if cached is not None and now - cached[1] < OWNERS_CACHE_S:
            processes = cached[0]
        else:
            news = self._where_news
            raw = await self._redis.hkeys(self._keys.where(target))
            processes = [p.decode() if isinstance(p, bytes) else p for p in raw]
            # An announcement that arrived meanwhile may be about this very answer: keep it
            # uncached rather than risk caching what was just changed. Nobody is cached too
            # (a target with no connection, e.g. a citizen who closed the page, is pushed to
            # often): the first connection's announcement clears it like any other change.
            if news == self._where_news:
                self._owners_cache.put(target, (processes, now))
        if not processes:
            return []
        stale = [p for p in processes if p != self.process_id
                 and (p not in self._alive or now - self._alive[p][1] > LIVENESS_CACHE_S)]
        if stale:
            async with self._redis.pipeline(transaction=False) as pipe:
                for p in stale:
                    pipe.exists(self._keys.process(p))
                for p, alive in zip(stale, await pipe.execute(), strict=True):
                    self._alive[p] = (bool(alive), now)
        dead = [p for p in processes if p != self.process_id and not self._alive[p][0]]
        if dead:
            self._owners_cache.pop(target)
            await self._redis.hdel(self._keys.where(target), *dead)
        return [p for p in processes if p == self.process_id or self._alive[p][0]]

    # --- presence map --------------------------------------------------------------------

    def _on_change(self, target: str, present: bool) -> None:
        # Called synchronously by the manager; Redis is written in order by one task.
        if present:
            self._local.add(target)
        else:
            self._local.discard(target)
        if not self._closed:
            self._changes.put_nowait((target, present))

    async def _write_changes(self) -> None:
        while True:
            batch = [await self._changes.get()]
            while not self._changes.empty():
                batch.append(self._changes.get_nowait())
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The next heartbeat that finds the map lost writes it all again.
                log.exception("relay: presence map write failed")
            _stop_if_cancelled()

    async def _write(self, batch: list[tuple[str, bool]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for target, present in batch:
                key = self._keys.where(target)
                if present:
                    pipe.hset(key, self.process_id, "1")
                    pipe.expire(key, WHERE_TTL_S)
                else:
                    pipe.hdel(key, self.process_id)
                self._owners_cache.pop(target)
            # After the write, so a process that re-reads on this news sees the change.
            pipe.publish(self._keys.where_changed_channel,
                         json.dumps(sorted({target for target, _ in batch})))
            await pipe.execute()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                kept = await self._redis.set(self._keys.process(self.process_id), "1",
                                             ex=self._ttl_s, xx=True)
                if not kept:
                    # Redis lost our keys (flushed, restarted): announce everything again.
                    log.warning("relay: presence map lost; writing %d targets again",
                                len(self._local))
                    await self._redis.set(self._keys.process(self.process_id), "1", ex=self._ttl_s)
                    await self._write([(t, True) for t in sorted(self._local)])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay: heartbeat failed")
            _stop_if_cancelled()

    async def _listen(self) -> None:
        # listen() blocks on the socket without a timeout per message (get_message(timeout)
        # sets one up for every message, a measurable cost at a thousand pushes a second).
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message.get("type") == "message":
                        await self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay: listening on the process channel failed")
            await asyncio.sleep(0.5)

    async def _receive(self, message: dict[str, Any]) -> None:
        try:
            body = json.loads(message["data"])
            if _text(message["channel"]) == self._keys.where_changed_channel:
                self._where_news += 1
                for target in body:
                    self._owners_cache.pop(target)
                return
            await self._sio.emit(body["e"], body["d"], to=body["t"], ignore_queue=True)
        except (ValueError, KeyError, TypeError):
            log.exception("relay: bad push on the process channel")


def _one(targets: list[str]) -> str | list[str]:
    return targets[0] if len(targets) == 1 else targets


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stop_if_cancelled() -> None:
    """Raise if this task was asked to stop but a library swallowed the cancellation.

    redis-py can swallow it while reconnecting to a Redis that is gone; the loop would then
    wait on its queue or sleep for ever and close() with it (a restarted Redis showed this).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
