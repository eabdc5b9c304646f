"""Which lawyers are connected, whether they chose to be available, and who is in a call.

In-memory, one process: the spine's presence. Several processes share it through Redis with the
cluster issue; the interface stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Availability(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"


@dataclass
class AgentPresence:
    availability: Availability = Availability.AVAILABLE
    busy: bool = False
    sids: set[str] = field(default_factory=set)

    @property
    def online(self) -> bool:
        return bool(self.sids)

    @property
    def status(self) -> str:
        """What the console shows: busy wins over the chosen availability."""
        return "busy" if self.busy else self.availability.value


class PresenceRegistry:
    def __init__(self) -> None:
        self._agents: dict[str, AgentPresence] = {}
        self._sid_agent: dict[str, str] = {}

    def connect(self, agent_id: str, sid: str) -> AgentPresence:
        agent = self._agents.setdefault(agent_id, AgentPresence())
        agent.sids.add(sid)
        self._sid_agent[sid] = agent_id
        return agent

    def disconnect(self, sid: str) -> str | None:
        agent_id = self._sid_agent.pop(sid, None)
        if agent_id is not None:
            self._agents[agent_id].sids.discard(sid)
        return agent_id

    def online(self) -> list[str]:
        """Agents with a connection to this process."""
        return [agent_id for agent_id, agent in self._agents.items() if agent.online]

    def get(self, agent_id: str) -> AgentPresence:
        return self._agents.setdefault(agent_id, AgentPresence())

    def counts(self) -> tuple[int, int]:
        """(agents on duty, agents free now): online and available, or busy in a call."""
        on_duty = free = 0
        for agent in self._agents.values():
            if not agent.online:
                continue
            if agent.busy:
                on_duty += 1
            elif agent.availability is Availability.AVAILABLE:
                on_duty += 1
                free += 1
        return on_duty, free
