"""The worker side of ``rooms.remote``: serve requests from Redis with a ``LocalMediaWorker``.

``MediaWorkerService`` registers the worker (a heartbeat key with a TTL, ``rooms.registry``),
listens on its request channel and answers each request on the sender's reply channel. Requests
for one room are served in arrival order (a candidate never overtakes its offer); different
rooms are served concurrently.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
    RoomId,
    WorkerStats,
    message_from_dict,
)
from rooms.registry import HEARTBEAT_S, WorkerRegistry
from rooms.worker import MediaWorker

log = logging.getLogger(__name__)


class MediaWorkerService:
    """Serves ``worker`` as ``worker_id`` to every signaling process; owns its tasks."""

    def __init__(self, redis: Redis, registry: WorkerRegistry, worker: MediaWorker,
                 worker_id: str, *, heartbeat_s: float = HEARTBEAT_S) -> None:
        self._redis = redis
        self._registry = registry
        self._worker = worker
        self.worker_id = worker_id
        self._heartbeat_s = heartbeat_s
        self._rooms: dict[RoomId, OpenRoom] = {}
        self._room_locks: dict[RoomId, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._pubsub: Any = None
        self._closed = False

    async def start(self) -> None:
        """Subscribe first, then announce the worker: no request can arrive unheard."""
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._registry.keys.requests(self.worker_id))
        await self._beat()
        self._loops = [asyncio.create_task(self._listen(), name="media requests"),
                       asyncio.create_task(self._heartbeat(), name="media heartbeat")]

    async def close(self) -> None:
        """Retire the worker (its rooms move at once) and stop serving; idempotent. The
        ``LocalMediaWorker`` itself is closed by its owner."""
        if self._closed:
            return
        self._closed = True
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        try:
            await self._registry.retire(self.worker_id)
            if self._pubsub is not None:
                await self._pubsub.aclose()
        except (OSError, RedisError) as exc:
            log.warning("media worker %s: could not retire: %s", self.worker_id, exc)

    async def _beat(self) -> None:
        stats = await self._worker.request(GetStats())
        load = ({"rooms": stats.rooms, "peer_connections": stats.peer_connections}
                if isinstance(stats, WorkerStats) else {"rooms": 0, "peer_connections": 0})
        await self._registry.heartbeat(self.worker_id, load, dict(self._rooms))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media worker %s: heartbeat failed", self.worker_id)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                envelope = json.loads(message["data"])
                task = asyncio.create_task(self._serve(envelope))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media worker %s: bad request envelope", self.worker_id)
                await asyncio.sleep(0.5)

    async def _serve(self, envelope: dict[str, Any]) -> None:
        reply_to, request_id = envelope.get("reply_to"), envelope.get("id")
        if not isinstance(reply_to, str) or not isinstance(request_id, str):
            return
        reply = await self._answer(envelope.get("body"))
        await self._redis.publish(reply_to, json.dumps({"id": request_id, "body": reply.to_dict()}))

    async def _answer(self, body: Any) -> Reply:
        try:
            message = message_from_dict(body if isinstance(body, dict) else {})
        except MediaWorkerError as exc:
            return ErrorReply(exc.code, exc.message)
        room_id = getattr(message, "room_id", None)
        if room_id is None:
            return await self._worker.request(message)  # type: ignore[arg-type]
        # Created in arrival order and acquired FIFO: one room's requests keep their order.
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            reply = await self._worker.request(message)  # type: ignore[arg-type]
        if isinstance(message, OpenRoom) and isinstance(reply, Ack):
            self._rooms[room_id] = message
        elif isinstance(message, CloseRoom):
            self._rooms.pop(room_id, None)
            if not lock.locked():
                self._room_locks.pop(room_id, None)
        return reply
