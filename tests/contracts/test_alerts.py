"""Alerts on SQLite and PostgreSQL: processes evaluating the same figures at once raise one
alert; a cleared one stays on record; one named acknowledgement. Redis gives one turn a round."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from server.alerts.evaluate import Firing
from server.alerts.repository import AlertRepository, alert_view
from server.alerts.rules import Kind, Rule
from server.db import Database
from server.users import UserRepository
from signaling.alerts.watch import RedisTurn
from tests import backends

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
RULE = Rule("wait", Kind.LONGEST_WAIT, threshold=120)


async def test_one_alert_whoever_raises_it_and_every_one_kept(database: Database) -> None:
    firing = Firing(RULE, "queue:labour", {"longest_wait_s": 150.0, "waiting": 1})
    repos = [AlertRepository(database) for _ in range(4)]  # four processes, one database
    raised = await asyncio.gather(*(r.raise_new([firing], T0) for r in repos))
    assert sum(len(r) for r in raised) == 1
    again = await repos[0].raise_new([firing], T0 + timedelta(seconds=10))
    assert again == []  # still open: not raised twice
    # The condition stopped: cleared, kept; when it comes back it is a new alert.
    assert await repos[1].clear_others([], T0 + timedelta(minutes=1)) == 1
    [back] = await repos[2].raise_new([firing], T0 + timedelta(minutes=2))
    listing = await repos[0].listing(since=T0 - timedelta(days=1))
    assert [(a.id == back.id, a.open_key is not None) for a in listing] == [(True, True),
                                                                            (False, False)]
    assert listing[1].explanation["figures"]["longest_wait_s"] == 150.0

    users = UserRepository(database)
    sup = await users.add(username="sup1", password="correct horse", role="supervisor",
                          display_name="值班长 王", skills=[], region=None, now=T0)
    acks = await asyncio.gather(*(r.acknowledge(back.id, by=sup.id, name="值班长 王",
                                                note="已调配两名律师", at=T0) for r in repos))
    done = [a for a in acks if a is not None]
    assert len(done) == 1
    view = alert_view(done[0])
    assert view["acked"] == {"by": "值班长 王", "at": T0.isoformat(), "note": "已调配两名律师"}


async def test_redis_gives_the_round_to_one_process(redis_prefix: str) -> None:
    clients = [Redis.from_url(backends.REDIS_URL) for _ in range(3)]
    try:
        turns = [RedisTurn(c, f"{redis_prefix}:alerts:turn", 5.0) for c in clients]
        claimed = await asyncio.gather(*(t.claim() for t in turns))
        assert sorted(claimed) == [False, False, True]
    finally:
        for c in clients:
            await c.aclose()
