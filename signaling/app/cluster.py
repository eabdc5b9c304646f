"""The parts a process needs to be one of many (docs/deploy.md), chosen by role and REDIS_URL.

- no REDIS_URL (role ``all`` only): one process; in-memory everything, ``LocalMediaWorker``.
- role ``all`` with REDIS_URL: signaling and a media worker in one process; the worker is
  registered so that other processes reach its rooms, and this process reaches theirs.
- role ``signaling``: socket.io and the hotline; media through ``RemoteMediaWorker``.
- role ``media``: only a registered media worker (``signaling.app.media``).

``create_app`` and ``create_media_app`` build a ``Cluster`` and call ``start``/``close`` from
their lifecycle.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from enum import StrEnum

import socketio
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from rooms.media.lab import EstimateCap
from rooms.media.local import LocalMediaWorker, OnLink
from rooms.media.sink import PacketSink
from rooms.messages import RoomId
from rooms.registry import MediaKeys, WorkerRegistry
from rooms.remote import RemoteMediaWorker
from rooms.serve import MediaWorkerService
from rooms.worker import MediaWorker
from server.config import ConfigError, Settings
from signaling.cluster_keys import ClusterKeys
from signaling.connections import (
    ConnectionLedger,
    MemoryConnectionLedger,
    RedisConnectionLedger,
)
from signaling.consultations.service import Notifier
from signaling.events import SocketNotifier
from signaling.relay import ClusterRedisManager, ProcessRelay

log = logging.getLogger(__name__)

REDIS_POOL_SIZE = 64


class ProcessRole(StrEnum):
    ALL = "all"
    SIGNALING = "signaling"
    MEDIA = "media"


def new_process_id(role: ProcessRole) -> str:
    """Unique per process start: a restarted process never inherits a dead one's entries."""
    return f"{role.value}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Cluster:
    """Builds and owns this process's cluster parts; ``close`` is idempotent."""

    def __init__(self, settings: Settings, role: ProcessRole) -> None:
        if role is not ProcessRole.ALL and settings.redis_url is None:
            raise ConfigError(f"--role {role.value} needs REDIS_URL (processes meet in Redis)")
        self.settings = settings
        self.role = role
        self.process_id = new_process_id(role)
        self.redis: Redis | None = None
        if settings.redis_url is not None:
            pool = BlockingConnectionPool.from_url(settings.redis_url,
                                                   max_connections=REDIS_POOL_SIZE, timeout=20)
            self.redis = Redis(connection_pool=pool)
        self.local: LocalMediaWorker | None = None
        self.remote: RemoteMediaWorker | None = None
        self.service: MediaWorkerService | None = None
        self.relay: ProcessRelay | None = None
        self.registry: WorkerRegistry | None = None
        self._manager: ClusterRedisManager | None = None
        self._closed = False

    def socket_manager(self) -> ClusterRedisManager | None:
        if self.settings.redis_url is None:
            return None
        self._manager = ClusterRedisManager(
            self.settings.redis_url, channel=ClusterKeys(self.settings.redis_prefix).socketio_channel)
        return self._manager

    def notifier(self, sio: socketio.AsyncServer) -> Notifier:
        """One-to-one pushes to the owning process when clustered; socket.io rooms otherwise."""
        if self._manager is None:
            return SocketNotifier(sio)
        assert self.settings.redis_url is not None
        # A client of its own (closed with the relay), on a blocking pool like the others.
        pool = BlockingConnectionPool.from_url(self.settings.redis_url,
                                               max_connections=REDIS_POOL_SIZE, timeout=20)
        self.relay = ProcessRelay(sio, self._manager, Redis(connection_pool=pool),
                                  self.process_id, ClusterKeys(self.settings.redis_prefix))
        return self.relay

    def connection_ledger(self) -> ConnectionLedger:
        """Live sockets per token: this process's alone, or every process's through Redis."""
        if self.redis is None or self.relay is None:
            return MemoryConnectionLedger()
        return RedisConnectionLedger(self.redis, ClusterKeys(self.settings.redis_prefix),
                                     self.process_id)

    def media_worker(self, on_rehomed: Callable[[RoomId], Awaitable[None]] | None = None,
                     sink: PacketSink | None = None, on_link: OnLink | None = None
                     ) -> MediaWorker:
        """The worker signaling talks to (and, for roles all and media, the one it hosts,
        recording into ``sink`` and telling ``on_link`` of links falling back to audio)."""
        if self.role is not ProcessRole.SIGNALING:
            self.local = LocalMediaWorker(
                ice_servers=list(self.settings.ice_servers),
                allow_private_candidates=self.settings.allow_private_candidates,
                inbound_loss=self.settings.lab_inbound_loss,
                estimate_cap=(EstimateCap(self.settings.lab_estimate_cap_file).apply
                              if self.settings.lab_estimate_cap_file else None),
                sink=sink,
                on_link=on_link,
            )
        if self.redis is None:
            assert self.local is not None
            return self.local
        registry = self.registry = WorkerRegistry(self.redis, MediaKeys(self.settings.redis_prefix))
        if self.local is not None:
            self.service = MediaWorkerService(self.redis, registry, self.local, self.process_id)
        if self.role is ProcessRole.MEDIA:
            assert self.local is not None
            return self.local
        self.remote = RemoteMediaWorker(
            self.redis, registry, self.process_id,
            local=(self.process_id, self.local) if self.local is not None else None,
            on_rehomed=on_rehomed,
        )
        return self.remote

    async def start(self) -> None:
        if self.relay is not None:
            await self.relay.start()
        if self.service is not None:
            await self.service.start()
        log.info("process %s started as %s%s", self.process_id, self.role.value,
                 " (clustered through Redis)" if self.redis is not None else "")

    async def held_elsewhere(self, target: str) -> bool:
        """Whether another live process holds a connection in ``target`` (a lawyer who
        reconnected there must not be signed out by the process they left)."""
        if self.relay is None:
            return False
        return any(p != self.process_id for p in await self.relay.owners(target))

    async def hosted_rooms(self) -> frozenset[RoomId] | None:
        """The media rooms some worker hosts: pinned in Redis when clustered, else the local
        worker's (None: this process cannot tell)."""
        if self.remote is not None and self.registry is not None:
            return await self.registry.pinned()
        if self.local is not None and self.redis is None:
            return self.local.room_ids()
        return None

    async def sweep(self) -> None:
        """Re-home rooms of dead media workers (a ticker in signaling processes)."""
        if self.remote is not None:
            await self.remote.sweep()

    async def close(self) -> None:
        """Leave the presence map, retire the worker, close peer connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.relay is not None:
            await self.relay.close()
        if self.service is not None:
            await self.service.close()
        if self.remote is not None:
            await self.remote.close()
        # Peer connections: aiortc's decoder threads otherwise keep the process alive.
        if self.local is not None:
            await self.local.close()
        if self.redis is not None:
            await self.redis.aclose()


CLUSTER_KEY = web.AppKey("cluster", Cluster)
