"""``RemoteMediaWorker``: the media worker of a room, wherever it runs, reached over Redis.

A signaling process sends each request (``to_dict``) on the request channel of the worker the
room is pinned to (``rooms.registry``) with a correlation id and its own reply channel, and waits
for the reply; no reply within ``timeout_s`` is ``ErrorReply("media_unavailable")``. A room whose
worker is no longer alive is re-homed on a live one (one process wins the move), its
``OpenRoom`` and routing table replayed there, and ``on_rehomed`` is told so that the room's
members make new offers. A room hosted by this process's own worker is served in process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from rooms.messages import (
    Ack,
    CloseRoom,
    ErrorReply,
    GetStats,
    MediaWorkerError,
    OpenRoom,
    Reply,
    Request,
    RoomId,
    SetRouting,
    WorkerStats,
    message_from_dict,
)
from rooms.registry import WorkerRegistry, pick
from rooms.worker import MediaWorker

log = logging.getLogger(__name__)

TIMEOUT_S = 8.0
# A worker nobody listens for (it died before its heartbeat key expired) is skipped this long.
DEAD_FOR_S = 10.0
# The live workers are read at most this often for choosing and finding a room's worker (three
# Redis reads each time; the loads in them are only refreshed by each worker's heartbeat, every
# second, anyway). Only a positive answer is taken from it: a worker it does not name is looked
# up afresh before being taken for dead, and one that died since is found out by the request
# itself (nobody listens on its channel).
LIVE_CACHE_S = 1.0


class _NoListener(Exception):
    """The worker's request channel has no subscriber: the worker is gone."""


class RemoteMediaWorker:
    """Implements ``rooms.worker.MediaWorker`` over the worker registry and Redis pub/sub.

    ``local``: ``(worker id, worker)`` of a worker in this process (role ``all``), called
    directly for the rooms pinned to it. ``on_rehomed(room_id)``: a room moved to another
    worker; its clients must negotiate again.
    """

    def __init__(self, redis: Redis, registry: WorkerRegistry, process_id: str, *,
                 local: tuple[str, MediaWorker] | None = None,
                 on_rehomed: Callable[[RoomId], Awaitable[None]] | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self._redis = redis
        self._registry = registry
        self._reply_channel = registry.keys.replies(process_id)
        self._local = local
        self._on_rehomed = on_rehomed
        self._timeout_s = timeout_s
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._pubsub: Any = None
        self._closed = False
        self._dead: dict[str, float] = {}
        self._live: tuple[dict[str, dict[str, Any]], float] | None = None  # workers, read at

    async def request(self, message: Request) -> Reply:
        """Send ``message`` to the worker of its room; refusals are ``ErrorReply``."""
        if self._closed:
            return ErrorReply("media_unavailable", "the media worker client is closed")
        try:
            await self._ensure_listening()
            return await self._route(message)
        except (OSError, RedisError) as exc:  # Redis unreachable
            log.warning("media request %s failed: %s", type(message).__name__, exc)
            return _unavailable()
        except _NoListener:
            return _unavailable()

    async def close(self) -> None:
        """Stop listening for replies; pending requests get ``media_unavailable``. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        if self._pubsub is not None:
            await self._pubsub.aclose()

    # --- routing a request to its worker -------------------------------------------------

    async def _route(self, message: Request) -> Reply:
        if isinstance(message, GetStats):
            return await self._stats()
        if isinstance(message, OpenRoom):
            chosen = await self._choose(exclude=self._dead_workers())
            if chosen is None:
                return _unavailable()
            worker = await self._registry.pin(message, chosen)
        else:
            found = await self._live_worker_of(message.room_id)
            if found is None:
                if isinstance(message, CloseRoom):
                    return Ack()
                return ErrorReply("not_found", f"no room {message.room_id!r} on any worker")
            worker = found
        room_id: RoomId = message.room_id
        if isinstance(message, SetRouting):
            await self._registry.set_routing(message)
        try:
            reply = await self._send(worker, message)
        except _NoListener:
            # Died a moment ago (its key has not expired yet): host the room elsewhere.
            self._dead[worker] = time.monotonic()
            moved = await self.rehome(room_id, worker)
            if moved is None:
                return _unavailable()
            if isinstance(message, OpenRoom):
                return Ack()  # rehome opened it there
            try:
                reply = await self._send(moved, message)
            except _NoListener:
                return _unavailable()
            worker = moved
        if isinstance(reply, ErrorReply) and reply.code == "not_found":
            # The worker lost the room (restarted under the same id): host it again, retry.
            if await self._replay(room_id, worker):
                reply = await self._send(worker, message)
        if isinstance(message, CloseRoom):
            await self._registry.forget(room_id)
        return reply

    async def _live_worker_of(self, room_id: RoomId) -> str | None:
        worker = await self._registry.worker_of(room_id)
        if worker is None:
            return None
        if worker not in self._dead_workers() and (
                worker in await self._live_workers() or worker in await self._live_workers(True)):
            return worker
        return await self.rehome(room_id, worker)

    async def rehome(self, room_id: RoomId, dead: str) -> str | None:
        """Move ``room_id`` off ``dead`` onto a live worker (unless another process did) and
        tell its members to negotiate again. Returns the room's worker now, or None."""
        chosen = await self._choose(exclude={dead, *self._dead_workers()})
        if chosen is None:
            return None
        now_on = await self._registry.move(room_id, dead, chosen)
        if now_on != chosen:
            return now_on  # another process moved it (or it was closed)
        log.warning("media: room %s moved from dead worker %s to %s", room_id, dead, chosen)
        await self._replay(room_id, chosen)
        if self._on_rehomed is not None:
            try:
                await self._on_rehomed(room_id)
            except Exception:
                log.exception("media: telling room %s to renegotiate failed", room_id)
        return chosen

    async def sweep(self) -> None:
        """Re-home every room whose worker died (run periodically by signaling processes)."""
        for room_id, dead in (await self._registry.orphans()).items():
            await self.rehome(room_id, dead)

    async def _replay(self, room_id: RoomId, worker: str) -> bool:
        record = await self._registry.record(room_id)
        if record is None:
            return False
        try:
            if isinstance(await self._send(worker, record.open), ErrorReply):
                return False
            if record.routing is not None:
                await self._send(worker, record.routing)
        except _NoListener:
            self._dead[worker] = time.monotonic()
            return False
        return True

    async def _live_workers(self, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """Live worker id -> load, read again when ``fresh`` or older than LIVE_CACHE_S."""
        now = time.monotonic()
        if fresh or self._live is None or now - self._live[1] >= LIVE_CACHE_S:
            self._live = (await self._registry.live_workers(), now)
        return self._live[0]

    async def _choose(self, exclude: set[str]) -> str | None:
        """The live worker with the fewest rooms; none among the remembered ones: read again."""
        return (pick(await self._live_workers(), exclude)
                or pick(await self._live_workers(fresh=True), exclude))

    def _dead_workers(self) -> set[str]:
        now = time.monotonic()
        for worker, since in list(self._dead.items()):
            if now - since > DEAD_FOR_S:
                del self._dead[worker]
        return set(self._dead)

    async def _stats(self) -> Reply:
        """Every live worker's figures, summed."""
        total = WorkerStats(forwarded_frames={})
        for worker in await self._registry.live_workers():
            try:
                reply = await self._send(worker, GetStats())
            except _NoListener:
                continue
            if isinstance(reply, WorkerStats):
                forwarded = dict(total.forwarded_frames)
                for kind, n in reply.forwarded_frames.items():
                    forwarded[kind] = forwarded.get(kind, 0) + n
                total = WorkerStats(
                    rooms=total.rooms + reply.rooms,
                    peer_connections=total.peer_connections + reply.peer_connections,
                    forwarded_frames=forwarded,
                    decoded_frames=total.decoded_frames + reply.decoded_frames,
                    encoded_frames=total.encoded_frames + reply.encoded_frames,
                    keyframe_requests=total.keyframe_requests + reply.keyframe_requests,
                )
        return total

    # --- the wire ------------------------------------------------------------------------

    async def _send(self, worker: str, message: Request) -> Reply:
        if self._local is not None and worker == self._local[0]:
            return await self._local[1].request(message)
        # Every path that sends, not only request(): the media sweep re-homes rooms from a
        # process that may never have asked a worker anything, whose replies then went to a
        # channel nobody listened on (the OpenRoom timed out, video came back 8 s late).
        await self._ensure_listening()
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            body = json.dumps({"id": request_id, "reply_to": self._reply_channel,
                               "body": message.to_dict()})
            if not await self._redis.publish(self._registry.keys.requests(worker), body):
                raise _NoListener(worker)
            data = await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            log.warning("media worker %s did not answer %s in %.0f s", worker,
                        type(message).__name__, self._timeout_s)
            return _unavailable()
        finally:
            self._waiting.pop(request_id, None)
        try:
            reply = message_from_dict(data)
        except MediaWorkerError as exc:
            return ErrorReply(exc.code, exc.message)
        return reply  # type: ignore[return-value]

    async def _ensure_listening(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="media replies")
        if not self._subscribed.is_set():
            try:
                await asyncio.wait_for(self._subscribed.wait(), self._timeout_s)
            except TimeoutError:
                raise RedisError("could not subscribe to the reply channel") from None

    async def _listen(self) -> None:
        while self._pubsub is None:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._reply_channel)
                self._pubsub = pubsub
                self._subscribed.set()
            except (OSError, RedisError) as exc:
                log.warning("media: cannot subscribe to replies yet: %s", exc)
                await asyncio.sleep(0.5)
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                data = json.loads(message["data"])
                future = self._waiting.get(data.get("id", ""))
                if future is not None and not future.done():
                    future.set_result(data["body"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media: bad reply")
                await asyncio.sleep(0.5)


def _unavailable() -> ErrorReply:
    return ErrorReply("media_unavailable", "媒体服务暂不可用 / no media worker is reachable")
