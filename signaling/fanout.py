"""socket.io fan-out between processes through Redis, on a blocking connection pool.

python-socketio's ``AsyncRedisManager`` builds its client with redis-py's default pool, which
holds at most 100 connections and raises when they are all busy: under load the manager logs
"Cannot publish to redis" and the message is lost (measured on this machine). A
``BlockingConnectionPool`` makes a publisher wait for a free connection instead.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from socketio import AsyncRedisManager

MAX_CONNECTIONS = 64
POOL_TIMEOUT_S = 20


class BlockingRedisManager(AsyncRedisManager):  # type: ignore[misc]
    """``AsyncRedisManager`` whose Redis client waits for a pooled connection."""

    def _redis_connect(self) -> None:
        pool = BlockingConnectionPool.from_url(
            self.redis_url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT_S
        )
        self.redis = Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True
