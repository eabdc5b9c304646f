"""socket.io fan-out between processes through Redis, on a blocking connection pool.

python-socketio's ``AsyncRedisManager`` builds its client with redis-py's default pool, which
holds at most 100 connections and raises when they are all busy: under load the manager logs
"Cannot publish to redis" and the message is lost (measured on this machine). A
``BlockingConnectionPool`` makes a publisher wait for a free connection instead.

Its listener, after losing Redis, retries after 1, 2, 4 ... up to 60 s: after an outage of 30 s
the next try can come 32 s after Redis is back, and until then no push made on another process
reaches this one's sockets (issue 20, point 4: service back within 10 s of the return). Here the
wait between tries stays at most ``LISTEN_RETRY_MAX_S``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from socketio import AsyncRedisManager

MAX_CONNECTIONS = 64
POOL_TIMEOUT_S = 20
LISTEN_RETRY_MAX_S = 0.5  # a resubscription try is one refused connect: cheap at 2 a second


def next_retry(wait_s: float) -> float:
    """The wait before the next resubscription try after one of ``wait_s`` failed."""
    return min(wait_s * 2, LISTEN_RETRY_MAX_S)


class BlockingRedisManager(AsyncRedisManager):  # type: ignore[misc]
    """``AsyncRedisManager`` whose Redis client waits for a pooled connection."""

    pause = staticmethod(asyncio.sleep)  # between resubscription tries (a test counts them)

    def _redis_connect(self) -> None:
        pool = BlockingConnectionPool.from_url(
            self.redis_url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT_S
        )
        self.redis = Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        # python-socketio's own loop (5.x), with the wait between tries bounded (module doc).
        wait_s = 0.25
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed, wait_s = True, 0.25
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # any failure of the connection: subscribe again
                self._get_logger().error(
                    f"Cannot receive from redis... retrying in {wait_s} secs",
                    extra={"redis_exception": str(exc)})
                subscribed = False
                await self.pause(wait_s)
                wait_s = next_retry(wait_s)
