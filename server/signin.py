"""Staff sign-in that resists guessing (docs/security.md, "4. Sign-in").

- Attempts are limited per username and per client address with the ``limits`` package's
  moving windows, in memory for one process and in Redis when processes share one
  (``REDIS_URL``), so a guesser cannot spread attempts across processes. Every attempt counts
  (it is counted before the password is checked, so forty at once cannot all slip through a
  check-then-count gap); a success clears its username's window.
- A refusal is 429 ``too_many_attempts`` with ``Retry-After`` (seconds).
- The password check runs on ``PasswordChecker``'s threads, never on the event loop, and an
  unknown username is checked against a dummy hash (same cost as a wrong password).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from server.errors import ParleyError
from server.models import User
from server.passwords import PasswordChecker
from server.users import UserRepository

DEFAULT_PER_USERNAME = "10 per 15 minutes"
DEFAULT_PER_ADDRESS = "50 per 15 minutes"


@dataclass(frozen=True)
class SignInLimits:
    per_username: str = DEFAULT_PER_USERNAME
    per_address: str = DEFAULT_PER_ADDRESS


def create_limit_storage(redis_url: str | None, pool: ConnectionPool | None,
                         prefix: str) -> Storage:
    """Memory for one process; Redis (sharing the process's connection pool) for many."""
    if redis_url is None:
        return MemoryStorage()
    scheme, rest = redis_url.split("://", 1)
    uri = f"async+redis+unix://{rest}" if scheme == "unix" else f"async+{scheme}://{rest}"
    options: dict[str, object] = {"connection_pool": pool} if pool is not None else {}
    return RedisStorage(uri, implementation="redispy", key_prefix=f"{prefix}:signin",
                        **options)  # type: ignore[arg-type]


class SignInThrottle:
    """Counts attempts per username and per address; ``admit`` refuses past either limit."""

    def __init__(self, storage: Storage, limits: SignInLimits = SignInLimits()) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_username: RateLimitItem = parse(limits.per_username)
        self._per_address: RateLimitItem = parse(limits.per_address)

    async def admit(self, username: str, address: str | None) -> None:
        """Count one attempt; raises 429 ``too_many_attempts`` past a limit (uncounted then)."""
        checks = [(self._per_address, "address", (address or "unknown")[:64]),
                  (self._per_username, "username", _name_key(username))]
        for item, kind, key in checks:
            if not await self._limiter.hit(item, kind, key):
                stats = await self._limiter.get_window_stats(item, kind, key)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise ParleyError(
                    "too_many_attempts",
                    f"尝试次数过多，请 {retry} 秒后再试 / too many sign-in attempts, "
                    f"try again in {retry} s", 429, headers={"Retry-After": str(retry)})

    async def succeeded(self, username: str) -> None:
        """The right password: the username's earlier mistakes no longer count."""
        await self._limiter.clear(self._per_username, "username", _name_key(username))

    def close(self) -> None:
        # MemoryStorage expires entries from a one-off task it starts on use.
        timer = getattr(self._storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()


class SignIn:
    """``authenticate`` is what ``POST /api/login`` calls."""

    def __init__(self, users: UserRepository, passwords: PasswordChecker,
                 throttle: SignInThrottle) -> None:
        self._users = users
        self._passwords = passwords
        self._throttle = throttle

    async def authenticate(self, username: str, password: str, address: str | None) -> User:
        await self._throttle.admit(username, address)
        user = await self._users.by_username(username)
        # An unknown name runs the same argon2 check (on a dummy hash) as a wrong password.
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            raise ParleyError("bad_credentials", "用户名或密码错误 / wrong username or password", 401)
        await self._throttle.succeeded(username)
        return user

    def close(self) -> None:
        self._throttle.close()
        self._passwords.close()


def client_address(remote: str | None, forwarded_for: str | None,
                   trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
                   ) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy (nginx, see
    docs/deploy.md), the right-most ``X-Forwarded-For`` entry that is not a trusted proxy.
    Entries left of it are whatever the client wrote and are never believed."""
    address = remote
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    while address is not None and _is_trusted(address, trusted_proxies) and hops:
        address = hops.pop()
    return address


def _is_trusted(address: str,
                trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _name_key(username: str) -> str:
    # Case-folded (so case variants share a window) and hashed (bounded, no personal names
    # in Redis keys).
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
