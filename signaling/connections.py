"""Live socket connections per token, capped (docs/security.md, "6. Media and connections").

A stolen or shared token should not open hundreds of sockets (each holds server memory and
pushes), and one person needs a few at most (a phone and a desk, a reload overlapping the old
tab). ``SocketEvents`` claims a place when a socket connects and releases it on disconnect; the
claim past the cap is refused (``too_many_connections``).

``MemoryConnectionLedger`` counts this process's connections; ``RedisConnectionLedger`` counts
every process's, in one hash per token whose fields name the holding process, so the places of
a process that died are given back once its liveness key expires (signaling/cluster_keys.py).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from redis.asyncio import Redis

from signaling.cluster_keys import ClusterKeys

DEFAULT_PER_TOKEN = 5


def token_key(token: str) -> str:
    """What a token is counted under: a digest, so no credential is stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class ConnectionLedger(Protocol):
    """Places held by live connections, per token."""

    async def claim(self, token: str, sid: str, limit: int, ttl_s: int) -> bool:
        """Take a place for ``sid`` unless ``limit`` connections of ``token`` are live.
        ``ttl_s``: how long the token stays valid (the count need not outlive it)."""
        ...

    async def release(self, sid: str) -> None:
        """``sid`` disconnected (unknown sids are ignored)."""
        ...


class MemoryConnectionLedger:
    def __init__(self) -> None:
        self._held: dict[str, set[str]] = {}
        self._sid_token: dict[str, str] = {}

    async def claim(self, token: str, sid: str, limit: int, ttl_s: int) -> bool:
        key = token_key(token)
        held = self._held.setdefault(key, set())
        if len(held) >= limit:
            return False
        held.add(sid)
        self._sid_token[sid] = key
        return True

    async def release(self, sid: str) -> None:
        key = self._sid_token.pop(sid, None)
        if key is not None:
            held = self._held.get(key, set())
            held.discard(sid)
            if not held:
                self._held.pop(key, None)


# KEYS[1]: the token's hash. ARGV: field (process/sid), limit, ttl, liveness key prefix.
# Fields of processes whose liveness key is gone are removed before counting. (The liveness
# keys are read by name: fine on one Redis, as the rest of the cluster keys assume.)
_CLAIM = """
local live = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local process = string.match(field, '^(.*)/[^/]*$')
  if process and redis.call('EXISTS', ARGV[4] .. process) == 1 then
    live = live + 1
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
if live >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '1')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class RedisConnectionLedger:
    """Counts across processes. ``process_id`` must be the one whose liveness key
    (``ClusterKeys.process``) the process's relay keeps alive."""

    def __init__(self, redis: Redis, keys: ClusterKeys, process_id: str) -> None:
        self._redis = redis
        self._keys = keys
        self._process_id = process_id
        self._claim = redis.register_script(_CLAIM)
        self._sid_key: dict[str, str] = {}

    async def claim(self, token: str, sid: str, limit: int, ttl_s: int) -> bool:
        key = self._keys.connections(token_key(token))
        taken = await self._claim(keys=[key], args=[
            f"{self._process_id}/{sid}", limit, max(60, ttl_s), self._keys.process("")])
        if taken:
            self._sid_key[sid] = key
        return bool(taken)

    async def release(self, sid: str) -> None:
        key = self._sid_key.pop(sid, None)
        if key is not None:
            await self._redis.hdel(key, f"{self._process_id}/{sid}")
