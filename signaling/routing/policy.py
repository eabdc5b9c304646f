"""Routing decisions (pure, deterministic): which task to offer to which agent, now.

Rule, as a hotline runs it: tasks are served in order (priority class, then longest waiting,
then case id); each task in turn goes to the best free agent eligible for it (preferred agent,
then best skill, then longest idle, then agent id). A task that no free agent may serve yet
keeps its place and does not hold up the tasks behind it. No task is offered to two agents and
no agent gets two offers at once.

``decide`` computes this for a list of tasks; ``decide_indexed`` does the same from a
``WaitingIndex`` without touching tasks no free agent can see, which is what the stores use.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from signaling.routing.eligibility import agent_rank, eligible_for, is_free, reserved_for
from signaling.routing.index import WaitingIndex
from signaling.routing.model import Agent, AgentId, RoutingConfig, Task, TaskId
from signaling.routing.regions import RegionGraph

LOOKAHEAD = 8  # tasks remembered per agent within one decision


@dataclass(frozen=True)
class OfferDecision:
    """Offer ``task_id`` to ``agent_id``; the shell claims it in the store, then tells the agent."""

    task_id: TaskId
    agent_id: AgentId


def blocker(agent: Agent, agents: Mapping[AgentId, Agent], offered: Collection[TaskId],
            now: float, config: RoutingConfig) -> Callable[[Task], bool]:
    """Reasons outside eligibility that keep ``agent`` from a task: an offer already in flight,
    an exclusion after a decline or a miss, or a reservation for the task's preferred agent."""
    me = agent.agent_id

    def blocked(task: Task) -> bool:
        if task.task_id in offered or (task.excluded and task.excludes(me, now)):
            return True
        if task.preferred_agent is None or task.preferred_agent == me:
            return False
        return reserved_for(task, agents, now, config) is not None

    return blocked


def best_tasks_for(agent: Agent, index: WaitingIndex, agents: Mapping[AgentId, Agent],
                   offered: Collection[TaskId], now: float, config: RoutingConfig,
                   graph: RegionGraph, limit: int = 1) -> list[Task]:
    """The first ``limit`` tasks in service order that ``agent`` may be offered now.

    "Take next" offers the first; a Redis claim passes several so that concurrent claimers
    from other processes fall through to the next instead of failing.
    """
    if not is_free(agent, now):
        return []
    return index.best_for(agent, now, config, graph,
                          blocker(agent, agents, offered, now, config), limit)


def decide_indexed(index: WaitingIndex, agents: Mapping[AgentId, Agent],
                   offered: Collection[TaskId], now: float, config: RoutingConfig,
                   graph: RegionGraph, only: Iterable[AgentId] | None = None) -> list[OfferDecision]:
    """Offers to make now, in service order of their tasks.

    Equivalent to walking the tasks in order and giving each the best free agent eligible for
    it, but driven by the free agents: each free agent's best task is found through the index;
    the earliest of those tasks is the next one in the walk, and exactly the agents whose best
    task it is are eligible for it. ``only`` restricts the free agents considered (e.g. the one
    agent who just became available); leave it None after a change that may concern anyone.
    """
    pool = agents.values() if only is None else (agents[a] for a in only if a in agents)
    free = {a.agent_id: a for a in pool if is_free(a, now) and a.servable_modes()}
    taken: set[TaskId] = set(offered)
    heap: list[tuple[tuple[int, float, str], AgentId]] = []
    # Each agent's next few tasks in order, so that an agent who loses its best task to another
    # agent moves on without a new scan; "complete" when the scan found every task it may take.
    upcoming: dict[AgentId, deque[Task]] = {}
    complete: set[AgentId] = set()
    lookahead = LOOKAHEAD if len(free) > 1 else 1

    def push(agent: Agent) -> None:
        queue = upcoming.get(agent.agent_id)
        while queue and queue[0].task_id in taken:
            queue.popleft()
        if not queue:
            if agent.agent_id in complete:
                return
            found = index.best_for(agent, now, config, graph,
                                   blocker(agent, agents, taken, now, config), lookahead)
            if len(found) < lookahead:
                complete.add(agent.agent_id)
            queue = upcoming[agent.agent_id] = deque(found)
        if queue:
            heapq.heappush(heap, (queue[0].order_key, agent.agent_id))

    for agent in free.values():
        push(agent)
    decisions: list[OfferDecision] = []
    while heap:
        key, first = heapq.heappop(heap)
        rivals = [first]
        while heap and heap[0][0] == key:
            rivals.append(heapq.heappop(heap)[1])
        task_id = TaskId(key[2])
        if task_id in taken:  # offered meanwhile: these agents look again
            for agent_id in rivals:
                push(free[agent_id])
            continue
        task = index.get(task_id)
        assert task is not None
        winner = min(rivals, key=lambda a: agent_rank(task, free[a]))
        decisions.append(OfferDecision(task_id, winner))
        taken.add(task_id)
        del free[winner]
        for agent_id in rivals:
            if agent_id != winner:
                push(free[agent_id])
    return decisions


def decide_joined(task_id: TaskId, index: WaitingIndex, agents: Mapping[AgentId, Agent],
                  offered: Collection[TaskId], now: float, config: RoutingConfig,
                  graph: RegionGraph) -> list[OfferDecision] | None:
    """Offers to make now that ``task_id`` joined a queue that a dispatch had just settled.

    A settled queue has no free agent with a task it may take, so the new task is the only one
    any free agent may take: it goes to the best free agent eligible for it and nothing else
    changes. This checks one agent instead of scanning the index for every free agent, which
    at a few hundred agents is most of the cost of an intake. Returns None when the queue was
    visibly not settled (the chosen agent may take an earlier task): decide everything then.
    """
    task = index.get(task_id)
    if task is None or task_id in offered:
        return []
    eligible = eligible_for(task, agents, now, config, graph)
    if not eligible:
        return []
    winner = min(eligible, key=lambda a: agent_rank(task, a))
    best = best_tasks_for(winner, index, agents, offered, now, config, graph)
    if [t.task_id for t in best] != [task_id]:
        return None
    return [OfferDecision(task_id, winner.agent_id)]


def decide(tasks: Iterable[Task], agents: Iterable[Agent], now: float, config: RoutingConfig,
           graph: RegionGraph, offered: Collection[TaskId] = ()) -> list[OfferDecision]:
    """Offers to make now for these waiting tasks and agents (tasks already offered excluded)."""
    by_id = {a.agent_id: a for a in agents}
    return decide_indexed(WaitingIndex(tasks), by_id, offered, now, config, graph)
