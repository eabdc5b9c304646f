"""The routing store for one process: dictionaries and a ``WaitingIndex``.

No method awaits while it changes state, so every operation is atomic on the event loop; the
same checks as the Redis scripts make it refuse exactly what Redis refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType

from signaling.routing.index import WaitingIndex
from signaling.routing.model import Agent, AgentId, Offer, Task, TaskId
from signaling.routing.store import Removed, RoutingView, rebuild_version_base


class MemoryRoutingStore:
    def __init__(self) -> None:
        self._index = WaitingIndex()
        self._agents: dict[AgentId, Agent] = {}
        self._offers: dict[TaskId, Offer] = {}
        self._agent_offer: dict[AgentId, TaskId] = {}

    async def add_task(self, task: Task) -> bool:
        if task.task_id in self._index:
            return False
        self._index.add(task)
        return True

    async def update_task(self, task: Task) -> bool:
        if task.task_id not in self._index:
            return False
        self._index.add(task)
        return True

    async def remove_task(self, task_id: TaskId) -> Removed | None:
        task = self._index.discard(task_id)
        if task is None:
            return None
        offer = self._offers.pop(task_id, None)
        if offer is not None:
            del self._agent_offer[offer.agent_id]
        return Removed(task, offer)

    async def get_task(self, task_id: TaskId) -> Task | None:
        return self._index.get(task_id)

    async def tasks(self) -> list[Task]:
        return list(self._index.in_order())

    async def put_agent(self, agent: Agent) -> Agent:
        old = self._agents.get(agent.agent_id)
        stored = replace(agent, version=(old.version if old else 0) + 1)
        self._agents[agent.agent_id] = stored
        return stored

    async def update_agent(self, agent: Agent) -> Agent | None:
        return self._cas_agent(agent)

    def _cas_agent(self, agent: Agent) -> Agent | None:
        old = self._agents.get(agent.agent_id)
        if old is None or old.version != agent.version:
            return None
        stored = replace(agent, version=agent.version + 1)
        self._agents[agent.agent_id] = stored
        return stored

    async def get_agent(self, agent_id: AgentId) -> Agent | None:
        return self._agents.get(agent_id)

    async def agents(self) -> list[Agent]:
        return list(self._agents.values())

    async def offers(self) -> list[Offer]:
        return list(self._offers.values())

    async def claim(self, agent: Agent, candidates: Sequence[TaskId], offered_at: float,
                    deadline: float) -> Offer | None:
        old = self._agents.get(agent.agent_id)
        if old is None or old.version != agent.version or agent.agent_id in self._agent_offer:
            return None
        for task_id in candidates:
            if task_id in self._index and task_id not in self._offers:
                offer = Offer(task_id, agent.agent_id, offered_at, deadline)
                self._offers[task_id] = offer
                self._agent_offer[agent.agent_id] = task_id
                self._cas_agent(agent)
                return offer
        return None

    async def resolve(self, offer: Offer, task: Task | None, agent: Agent) -> Agent | None:
        old = self._agents.get(agent.agent_id)
        if (self._agent_offer.get(offer.agent_id) != offer.task_id or agent.agent_id != offer.agent_id
                or old is None or old.version != agent.version
                or (task is not None and task.task_id != offer.task_id)):
            return None
        del self._offers[offer.task_id]
        del self._agent_offer[offer.agent_id]
        if task is None:
            self._index.discard(offer.task_id)
        else:
            self._index.add(task)
        return self._cas_agent(agent)

    async def view(self) -> RoutingView:
        return RoutingView(self._index, MappingProxyType(self._agents), MappingProxyType(self._offers))

    async def rebuild(self, tasks: Sequence[Task], agents: Sequence[Agent]) -> None:
        self._index = WaitingIndex(tasks)
        base = rebuild_version_base()
        self._agents = {a.agent_id: replace(a, version=base) for a in agents}
        self._offers.clear()
        self._agent_offer.clear()

    async def lost(self) -> bool:
        return False

    async def claim_rebuild(self, ttl_s: float) -> bool:
        return False

    async def close(self) -> None:
        return None
