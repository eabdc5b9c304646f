"""Who may serve which task, and when (pure).

A task passes through three widening stages as it waits (``RoutingConfig.stage``): in stage s an
agent is eligible when their home region is within distance s of the task's region (own,
neighbour, anywhere), their skill in the task's category is at least ``skill_minimums[s]``, they
speak the task's language and have room for its mode. Widening never moves a task in the
queue: it only lets more agents see it.

The stage an agent needs for a (category, region) is fixed by the agent, so "eligible now" is
"enqueued no later than ``now - stage_starts[needed]``": a score bound the waiting index and a
Redis range query can both use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from signaling.routing.model import Agent, AgentId, AgentState, RegionCode, RoutingConfig, Task
from signaling.routing.regions import RegionGraph


def skill_stage(level: int, config: RoutingConfig) -> int | None:
    """The first stage whose skill minimum ``level`` meets, or None (never eligible)."""
    for stage, minimum in enumerate(config.skill_minimums):
        if level >= minimum:
            return stage
    return None


def needed_stage(agent: Agent, category: str, region: RegionCode, graph: RegionGraph,
                 config: RoutingConfig) -> int | None:
    """The widening stage from which ``agent`` may serve a task of this category and region."""
    by_skill = skill_stage(agent.skills.get(category, 0), config)
    if by_skill is None:
        return None
    return max(by_skill, graph.distance(agent.region, region))


def is_free(agent: Agent, now: float) -> bool:
    """May receive an offer: on duty, no offer pending, and not in wrap-up (past wrap-up counts
    as free so a late ``end_wrap_up`` call never stalls routing)."""
    if agent.state in (AgentState.AVAILABLE, AgentState.BUSY):
        return True
    return (agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None
            and agent.wrap_up_until <= now)


def reserved_for(task: Task, agents: Mapping[AgentId, Agent], now: float,
                 config: RoutingConfig) -> AgentId | None:
    """The preferred agent holding this task, if any.

    首问负责: a task with a preferred agent waits for that agent while they are on duty (even
    busy or in wrap-up), for at most ``preferred_wait_s`` from when the preference was set; then,
    or at once when that agent is away or offline or has declined the task, it is open to all.
    """
    preferred = task.preferred_agent
    if preferred is None:
        return None
    agent = agents.get(preferred)
    if agent is None or not agent.on_duty() or task.excludes(preferred, now):
        return None
    since = task.preferred_since if task.preferred_since is not None else task.enqueued_at
    return preferred if now - since < config.preferred_wait_s else None


def can_serve(agent: Agent, task: Task, now: float, config: RoutingConfig, graph: RegionGraph,
              agents: Mapping[AgentId, Agent]) -> bool:
    """Whether ``agent`` may be offered ``task`` at ``now`` (ignoring offers already in flight).

    The reference definition: the index in ``index.py`` answers the same question faster.
    """
    if not is_free(agent, now) or not agent.has_room_for(task.mode) or task.excludes(agent.agent_id, now):
        return False
    if task.preferred_agent == agent.agent_id:
        return True  # the owner needs no skill, region or language check: they know the case
    holder = reserved_for(task, agents, now, config)
    if holder is not None:
        return False
    if task.language not in agent.languages:
        return False
    stage = needed_stage(agent, task.category, task.region, graph, config)
    return stage is not None and now - task.enqueued_at >= config.stage_starts[stage]


def eligible_for(task: Task, agents: Mapping[AgentId, Agent], now: float, config: RoutingConfig,
                 graph: RegionGraph) -> list[Agent]:
    """The agents ``can_serve`` admits for ``task``, with what depends on the task alone
    worked out once: a new case is checked against every agent (``decide_joined``), so this
    is the per-agent cost of an intake."""
    holder = reserved_for(task, agents, now, config)
    if holder is not None:
        candidates: Iterable[Agent] = [agents[holder]]
    else:
        candidates = agents.values()
    waited = now - task.enqueued_at
    reach = config.stage(waited) if waited >= 0 else -1  # the widest stage open to the task
    minimum = config.skill_minimums[max(reach, 0)]
    out: list[Agent] = []
    for agent in candidates:
        if agent.agent_id == task.preferred_agent:
            pass  # the owner needs no skill, region or language check: they know the case
        elif (holder is not None or reach < 0 or agent.skills.get(task.category, 0) < minimum
              or task.language not in agent.languages
              or graph.distance(agent.region, task.region) > reach):
            continue
        if (is_free(agent, now) and agent.has_room_for(task.mode)
                and not task.excludes(agent.agent_id, now)):
            out.append(agent)
    return out


def agent_rank(task: Task, agent: Agent) -> tuple[int, int, float, str]:
    """Among eligible agents: the preferred agent, then best skill, then longest idle, then id."""
    return (
        0 if task.preferred_agent == agent.agent_id else 1,
        -agent.skills.get(task.category, 0),
        agent.idle_since,
        agent.agent_id,
    )
