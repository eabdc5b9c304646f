"""Alerts on SQLite and PostgreSQL: processes evaluating the same figures at once raise one
alert; a cleared one stays on record; one named acknowledgement. Redis gives one turn a round."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from server.alerts.evaluate import Firing
from server.alerts.repository import AlertRepository, alert_view
from server.alerts.rules import Kind, Rule
from server.cases.repository import CaseRepository
from server.catalogue import Mode
from server.db import Database
from server.mediation.repository import MediationRepository
from server.policy import Principal, Role
from server.registry.repository import RegistryRepository
from server.schemas import IntakeBody
from server.users import UserRepository
from signaling.alerts.watch import AlertWatch, RedisTurn
from signaling.routing.model import PriorityClass, RegionCode, Task, TaskId
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


class Pushes:
    """The local border of the socket fan-out: what was pushed to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], object]] = []

    async def emit(self, event: str, data: dict[str, Any], to: object) -> None:
        self.sent.append((event, data, to))

    async def emit_here(self, event: str, data: dict[str, Any], to: object) -> bool:
        self.sent.append((event, data, to))
        return True


async def test_a_cluster_evaluates_once_a_round(database: Database, redis_prefix: str) -> None:
    now = datetime.now(UTC)
    task = Task(task_id=TaskId("c" * 32), service_type="consultation", category="labour",
                mode=Mode.VIDEO, language="zh", region=RegionCode("qz-kecheng"),
                priority=PriorityClass.NORMAL, created_at=now.timestamp() - 300,
                enqueued_at=now.timestamp() - 300)

    async def tasks() -> list[Task]:
        return [task]

    clients = [Redis.from_url(backends.REDIS_URL) for _ in range(3)]
    pushes = [Pushes() for _ in clients]
    try:
        watches = [AlertWatch(
            rules=[RULE], repository=AlertRepository(database),
            registry=RegistryRepository(database),
            mediation=MediationRepository(database), tasks=tasks, notifier=p,
            turn=RedisTurn(c, f"{redis_prefix}:alerts:turn", 5.0), clock=lambda: now)
            for c, p in zip(clients, pushes, strict=True)]
        case = await CaseRepository(database).create(IntakeBody.model_validate(
            {"name": "张三", "phone": "13800138000", "service_type": "consultation",
             "category": "labour", "mode": "video", "description": "欠薪",
             "region": "qz-kecheng"}), now - timedelta(minutes=3))
        seen = (await watches[0].snapshot(now)).contacts
        assert [(c.case_id, c.citizen, c.abandoned) for c in seen] == [
            (case.id, "13800138000", False)]
        raised = await asyncio.gather(*(w.round() for w in watches))
        assert sorted(raised) == [0, 0, 2]  # one process had the turn: "all" and the queue
        assert sum(len(p.sent) for p in pushes) == 2
        board = await watches[0].board(Principal(Role.SUPERVISOR, "1", "值班长"))
        assert sorted(a["scope"] for a in board["alerts"]) == ["all", "queue:labour"]
    finally:
        for c in clients:
            await c.aclose()
