"""The routing store: waiting tasks, agent states and offers in flight, behind one Protocol.

The store keeps state and makes each change atomic; it decides nothing. Decisions are made
above it by the pure policy over a ``RoutingView`` and written back through ``claim`` and
``resolve``, whose atomicity (a lock in memory, Lua scripts in Redis) guarantees that a task is
offered to one agent at a time and that an agent holds one offer at a time, across processes.
Agents carry a ``version``: every write of an agent is a compare-and-set on it, so two
processes never overwrite each other's change silently.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from signaling.routing.index import WaitingIndex
from signaling.routing.model import Agent, AgentId, Offer, Task, TaskId


@dataclass(frozen=True)
class RoutingView:
    """A consistent read for one decision. Treat it as read-only and use it before the next
    ``await``: the memory store hands out its live index rather than a copy."""

    index: WaitingIndex
    agents: Mapping[AgentId, Agent]
    offers: Mapping[TaskId, Offer]


@dataclass(frozen=True)
class Removed:
    """A task taken out of the queue, and the offer in flight it voided, if any."""

    task: Task
    offer: Offer | None


class RoutingStore(Protocol):
    """Live routing state shared by every process of a deployment (memory: one process)."""

    async def add_task(self, task: Task) -> bool:
        """Queue ``task`` at its own place (``order_key``); False, changing nothing, if a task
        with that id is already waiting."""
        ...

    async def update_task(self, task: Task) -> bool:
        """Replace a waiting task (callback flag, transfer while waiting); False if not waiting."""
        ...

    async def remove_task(self, task_id: TaskId) -> Removed | None:
        """Take a task out (the citizen left, abandoned, was served elsewhere); its offer in
        flight, if any, is void. None if it was not waiting."""
        ...

    async def get_task(self, task_id: TaskId) -> Task | None: ...

    async def tasks(self) -> list[Task]:
        """Every waiting task (offered ones included), first to be served first."""
        ...

    async def put_agent(self, agent: Agent) -> Agent:
        """Write ``agent`` whatever its version (sign-in, admin); returns it with the new version."""
        ...

    async def update_agent(self, agent: Agent) -> Agent | None:
        """Write ``agent`` if the stored version still is ``agent.version``; returns it with the
        new version, or None when it changed meanwhile (read again and retry) or is unknown."""
        ...

    async def get_agent(self, agent_id: AgentId) -> Agent | None: ...

    async def agents(self) -> list[Agent]: ...

    async def offers(self) -> list[Offer]:
        """Offers in flight, including expired ones not yet resolved by ``time_out``."""
        ...

    async def claim(self, agent: Agent, candidates: Sequence[TaskId], offered_at: float,
                    deadline: float) -> Offer | None:
        """Atomically offer to ``agent`` the first of ``candidates`` still waiting with no offer
        in flight, and write ``agent`` (its new state, usually OFFERED).

        Refused (None) when the stored agent's version is no longer ``agent.version``, when the
        agent already holds an offer, or when no candidate is left.
        """
        ...

    async def resolve(self, offer: Offer, task: Task | None, agent: Agent) -> Agent | None:
        """Atomically end an offer in flight: ``task`` None takes the task out of the queue
        (accepted), otherwise replaces it (declined or missed: same place, new exclusion);
        ``agent`` is written by compare-and-set. Returns the agent as stored, or None when the
        offer is no longer in flight or the agent changed meanwhile."""
        ...

    async def view(self) -> RoutingView:
        """The waiting index, agents and offers, for one decision."""
        ...

    async def rebuild(self, tasks: Sequence[Task], agents: Sequence[Agent]) -> None:
        """Replace everything (start-up, or after Redis lost its data) from the database; offers
        in flight are dropped: their tasks are waiting again and will be offered anew."""
        ...

    async def lost(self) -> bool:
        """Whether the store lost its state since the last ``rebuild`` (Redis flushed or
        restarted: no epoch). Memory never does."""
        ...

    async def claim_rebuild(self, ttl_s: float) -> bool:
        """True for one caller per ``ttl_s`` among all processes: that one rebuilds a lost store."""
        ...

    async def close(self) -> None: ...


def rebuild_version_base() -> int:
    """Agent versions after a rebuild start from a random base, so a compare-and-set prepared
    from a read before the rebuild cannot match by accident."""
    return secrets.randbelow(2**40) * 1024 + 1


def create_routing_store(redis_url: str | None, prefix: str = "parley:routing") -> RoutingStore:
    """Redis when a URL is configured (several processes), memory otherwise (one process)."""
    if redis_url is None:
        from signaling.routing.memory import MemoryRoutingStore

        return MemoryRoutingStore()
    from redis.asyncio import BlockingConnectionPool, Redis

    from signaling.routing.redis_store import RedisRoutingStore

    # Blocking: with redis-py's default pool a burst past 100 commands in flight raises
    # MaxConnectionsError (seen under bench/load.py); waiting for a connection loses nothing.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=20)
    return RedisRoutingStore(Redis(connection_pool=pool), prefix=prefix)
