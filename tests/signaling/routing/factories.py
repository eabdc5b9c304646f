"""Builders for routing tests: tasks, agents and a brute-force reference router."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.catalogue import Mode
from signaling.routing.eligibility import agent_rank, can_serve
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    PriorityClass,
    RegionCode,
    RoutingConfig,
    Task,
    TaskId,
)
from signaling.routing.policy import OfferDecision
from signaling.routing.regions import RegionGraph

T0 = 1_750_000_000.0  # a fixed "now" origin; tests pass times relative to it


def task(task_id: str, at: float = 0.0, *, category: str = "labour", mode: Mode = Mode.VIDEO,
         region: str = "gz-zhanggong", priority: PriorityClass = PriorityClass.NORMAL,
         language: str = "zh", **extra: Any) -> Task:
    return Task(task_id=TaskId(task_id), service_type="consultation", category=category, mode=mode,
                language=language, region=RegionCode(region), priority=priority,
                created_at=T0 + at, enqueued_at=T0 + at, **extra)


def agent(agent_id: str, *, skills: Mapping[str, int] | None = None, region: str = "gz-zhanggong",
          languages: Iterable[str] = ("zh",), state: AgentState = AgentState.AVAILABLE,
          idle: float = 0.0, **extra: Any) -> Agent:
    return Agent(agent_id=AgentId(agent_id), skills=dict(skills or {"labour": 3}),
                 languages=frozenset(languages), region=RegionCode(region), state=state,
                 idle_since=T0 + idle, **extra)


def reference_decide(tasks: Iterable[Task], agents: Iterable[Agent], now: float,
                     config: RoutingConfig, graph: RegionGraph,
                     offered: Iterable[TaskId] = ()) -> list[OfferDecision]:
    """The rule as written in docs/routing.md, the slow way: each task in order takes the best
    free agent eligible for it."""
    by_id = {a.agent_id: a for a in agents}
    free = dict(by_id)
    skip = set(offered)
    out: list[OfferDecision] = []
    for t in sorted(tasks, key=lambda t: t.order_key):
        if t.task_id in skip:
            continue
        eligible = [a for a in free.values() if can_serve(a, t, now, config, graph, by_id)]
        if eligible:
            best = min(eligible, key=lambda a: agent_rank(t, a))
            out.append(OfferDecision(t.task_id, best.agent_id))
            del free[best.agent_id]
    return out
