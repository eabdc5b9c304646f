"""Which lawyers hold connections to this process (their routing state lives in the engine).

A lawyer with several tabs is online until the last one closes; the hotline gives a dropped
lawyer a grace period before signing them out (a reload).
"""

from __future__ import annotations

from enum import StrEnum


class Availability(StrEnum):
    """What a lawyer may choose in the console."""

    AVAILABLE = "available"
    AWAY = "away"


class PresenceRegistry:
    def __init__(self) -> None:
        self._sids: dict[str, set[str]] = {}
        self._sid_agent: dict[str, str] = {}

    def connect(self, agent_id: str, sid: str) -> None:
        self._sids.setdefault(agent_id, set()).add(sid)
        self._sid_agent[sid] = agent_id

    def disconnect(self, sid: str) -> str | None:
        """Forget a connection; returns its lawyer's id (None for an unknown sid)."""
        agent_id = self._sid_agent.pop(sid, None)
        if agent_id is not None:
            self._sids.get(agent_id, set()).discard(sid)
        return agent_id

    def is_online(self, agent_id: str) -> bool:
        return bool(self._sids.get(agent_id))

    def online(self) -> list[str]:
        """Lawyers with a connection to this process."""
        return [agent_id for agent_id, sids in self._sids.items() if sids]
