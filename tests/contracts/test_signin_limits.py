"""The sign-in limits on every backend: memory for one process, Redis shared by several.

``handles`` gives throttles on the same state: for Redis each has its own connection pool and
storage on one prefix, as two processes would; for memory the same object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import ConnectionPool, Redis

from server.errors import ParleyError
from server.signin import SignInLimits, SignInThrottle, create_limit_storage
from tests import backends

LIMITS = SignInLimits(per_username="3 per 10 minutes", per_address="5 per 10 minutes")
Handles = Callable[[], SignInThrottle]


@pytest.fixture(params=["memory", "redis"])
async def handles(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Handles]:
    if request.param == "memory":
        one = SignInThrottle(create_limit_storage(None, None, "unused"), LIMITS)
        yield lambda: one
        one.close()
        return
    prefix = redis_prefix
    pools: list[ConnectionPool] = []

    def make() -> SignInThrottle:
        pool = ConnectionPool.from_url(backends.REDIS_URL)
        pools.append(pool)
        return SignInThrottle(create_limit_storage(backends.REDIS_URL, pool, prefix), LIMITS)

    yield make
    for pool in pools:
        await pool.aclose()
    admin = Redis.from_url(backends.REDIS_URL)
    assert [k async for k in admin.scan_iter(match=f"{prefix}:*")], \
        "the Redis throttle wrote nothing under its prefix"
    await admin.aclose()


async def refused(throttle: SignInThrottle, username: str, address: str) -> ParleyError:
    with pytest.raises(ParleyError) as caught:
        await throttle.admit(username, address)
    return caught.value


async def test_the_username_limit_holds_across_handles(handles: Handles) -> None:
    first, second = handles(), handles()
    await first.admit("lawyer1", "203.0.113.1")
    await second.admit("lawyer1", "203.0.113.2")
    await first.admit("Lawyer1", "203.0.113.3")
    error = await refused(second, "lawyer1", "203.0.113.4")
    assert (error.status, error.code) == (429, "too_many_attempts")
    assert 1 <= int(error.headers["Retry-After"]) <= 600
    await first.admit("lawyer2", "203.0.113.4")  # another name is not affected


async def test_the_address_limit_holds_across_handles(handles: Handles) -> None:
    first, second = handles(), handles()
    for i in range(5):
        await (first if i % 2 else second).admit(f"user{i}", "198.51.100.9")
    assert (await refused(first, "user9", "198.51.100.9")).code == "too_many_attempts"
    await second.admit("user9", "198.51.100.10")


async def test_a_success_clears_the_name_for_every_handle(handles: Handles) -> None:
    first, second = handles(), handles()
    for _ in range(3):
        await first.admit("lawyer1", "203.0.113.1")
    await second.succeeded("lawyer1")
    await first.admit("lawyer1", "203.0.113.1")
