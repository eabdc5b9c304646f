"""Queue position and estimated wait for every waiting task (pure).

Method (a pooled service-rounds model, the M/M/c "position over service rate" estimate):
- A task's *group* is (category, mode, language); its *pool* is the agents on duty (available,
  offered, busy or in wrap-up) who could serve it once fully widened (skill at least the last
  skill minimum, its language, capacity for its mode).
- Its position p is 1 + the waiting tasks of its group ahead of it in service order.
- The pool releases capacity at rate mu = sum over its agents of capacity[mode] / (mean handle
  time of the mode + wrap-up), each agent's rate shared among the groups it serves in proportion
  to how many tasks wait in each (an agent skilled in three busy categories gives each a third).
- With f pool agents free now, positions up to f wait 0; beyond, the task waits for (p - f)
  releases: eta = (p - f) / mu. When all c servers are busy and handle times are exponential this
  is exactly the expected time of the (p - f)-th departure.
- A task no agent of its own region can serve waits at least until the widening stage that
  reaches the nearest pool agent: eta >= stage start - waited.
- Nobody on duty in the pool: the estimate is unknown (None); offer a message or a callback.
The model ignores later arrivals of a higher priority class that overtake the task; tests
measure the error this leaves on a simulated day (tests/signaling/routing/test_eta_simulation.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from server.catalogue import Mode
from signaling.routing.eligibility import is_free, needed_stage
from signaling.routing.model import Agent, AgentId, RoutingConfig, Task, TaskId
from signaling.routing.regions import RegionGraph

Group = tuple[str, str, str]  # category, mode, language


@dataclass(frozen=True)
class HandleTimes:
    """Measured mean handle time per mode (talk or chat time, without wrap-up), in seconds."""

    mean_s: Mapping[Mode, float] = field(
        default_factory=lambda: {Mode.VIDEO: 480.0, Mode.AUDIO: 360.0, Mode.TEXT: 600.0})

    def cycle_s(self, mode: Mode, config: RoutingConfig) -> float:
        """Seconds one capacity slot is held per contact: handle time plus wrap-up."""
        return self.mean_s[mode] + config.wrap_up_s


@dataclass(frozen=True)
class WaitEstimate:
    task_id: TaskId
    position: int  # 1 = next in its group
    eta_s: float | None  # None: nobody on duty can serve it
    pool: int  # agents on duty who could serve it


def group_of(task: Task) -> Group:
    return (task.category, task.mode.value, task.language)


def _serves(agent: Agent, group: Group, config: RoutingConfig) -> bool:
    category, mode, language = group
    return (agent.on_duty() and language in agent.languages
            and agent.capacity.get(Mode(mode), 0) > 0
            and agent.skills.get(category, 0) >= config.skill_minimums[-1])


def estimate_waits(tasks_in_order: Iterable[Task], agents: Iterable[Agent], now: float,
                   config: RoutingConfig, graph: RegionGraph, handle: HandleTimes,
                   offered: Iterable[TaskId] = ()) -> dict[TaskId, WaitEstimate]:
    """Position and estimated wait of every task; tasks with an offer in flight wait 0."""
    tasks = list(tasks_in_order)
    on_duty = [a for a in agents if a.on_duty()]
    waiting: dict[Group, int] = {}
    for task in tasks:
        waiting[group_of(task)] = waiting.get(group_of(task), 0) + 1
    pools: dict[Group, list[Agent]] = {g: [a for a in on_duty if _serves(a, g, config)] for g in waiting}
    demand: dict[AgentId, int] = {}
    for group, pool in pools.items():
        for agent in pool:
            demand[agent.agent_id] = demand.get(agent.agent_id, 0) + waiting[group]
    rates = {g: sum(a.capacity[Mode(g[1])] / handle.cycle_s(Mode(g[1]), config)
                    * waiting[g] / demand[a.agent_id] for a in pool)
             for g, pool in pools.items()}
    free = {g: sum(1 for a in pool if is_free(a, now) and a.has_room_for(Mode(g[1])))
            for g, pool in pools.items()}
    in_flight = set(offered)
    seen: dict[Group, int] = {}
    out: dict[TaskId, WaitEstimate] = {}
    for task in tasks:
        group = group_of(task)
        position = seen[group] = seen.get(group, 0) + 1
        pool = pools[group]
        if task.task_id in in_flight:
            out[task.task_id] = WaitEstimate(task.task_id, position, 0.0, len(pool))
            continue
        if not pool:
            out[task.task_id] = WaitEstimate(task.task_id, position, None, 0)
            continue
        ahead = position - free[group]
        eta = max(0.0, ahead / rates[group]) if ahead > 0 else 0.0
        stages = [needed_stage(a, task.category, task.region, graph, config) for a in pool]
        nearest = min((s for s in stages if s is not None), default=2)
        eta = max(eta, config.stage_starts[nearest] - (now - task.enqueued_at))
        out[task.task_id] = WaitEstimate(task.task_id, position, round(eta, 1), len(pool))
    return out


def service_level(waits_answered: Iterable[float], threshold_s: float) -> float | None:
    """Share of answered contacts answered within ``threshold_s`` (None when there are none)."""
    waits = list(waits_answered)
    if not waits:
        return None
    return sum(1 for w in waits if w <= threshold_s) / len(waits)
