"""What a lawyer sees of the queue before any offer (issue 19.6): each waiting case's category,
mode, priority, region and how long it has waited, and whether this lawyer could be offered it
(skill and region stage, language, not excluded, not held for its first-contact lawyer) —
never a name, phone, description or case id: those come with an offer. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signaling.routing.eligibility import needed_stage, reserved_for
from signaling.routing.model import Agent, AgentId, RoutingConfig, Task
from signaling.routing.regions import RegionGraph

# The only keys an entry has: the test asserts them, so personal data cannot slip in.
ENTRY_KEYS = frozenset({"category", "mode", "priority", "region", "waited_s",
                        "callback", "for_me"})


def could_be_offered(agent: Agent, task: Task, now: float, config: RoutingConfig,
                     graph: RegionGraph, agents: Mapping[AgentId, Agent]) -> bool:
    """``can_serve`` without the lawyer's own momentary state (busy, offered, wrap-up): would
    this case come to them as soon as they are free."""
    if task.excludes(agent.agent_id, now):
        return False
    if task.preferred_agent == agent.agent_id:
        return True
    holder = reserved_for(task, agents, now, config)
    if holder is not None and holder != agent.agent_id:
        return False
    if task.language not in agent.languages:
        return False
    stage = needed_stage(agent, task.category, task.region, graph, config)
    return stage is not None and now - task.enqueued_at >= config.stage_starts[stage]


def waiting_entries(tasks: Sequence[Task], agent: Agent | None, agents: Sequence[Agent],
                    now: float, config: RoutingConfig, graph: RegionGraph
                    ) -> list[dict[str, Any]]:
    by_id = {a.agent_id: a for a in agents}
    return [{"category": t.category, "mode": t.mode.value, "priority": t.priority.value,
             "region": t.region, "waited_s": max(0, int(now - t.enqueued_at)),
             "callback": t.callback,
             "for_me": agent is not None and could_be_offered(agent, t, now, config, graph,
                                                              by_id)}
            for t in sorted(tasks, key=lambda t: t.order_key)]
