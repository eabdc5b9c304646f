"""A process's copy of the Redis routing store, brought forward from the store's change feed.

Every Redis script that changes a task, an agent or an offer appends one feed entry per change
(``redis_keys``), numbered by ``seq``; a view reads only the entries after the last one applied,
so an unchanged store costs one small read and a changed one costs what changed, not the number
of agents, tasks or offers. The mirror is plain data (no I/O): the Redis store reads, the mirror
applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from signaling.routing.index import WaitingIndex
from signaling.routing.model import Agent, AgentId, Offer, Task, TaskId
from signaling.routing.store import RoutingView


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RoutingMirror:
    """Tasks (a ``WaitingIndex``), agents and offers as of feed entry ``seq`` of ``epoch``.

    The index is handed out live, as the memory store does; agents and offers are copied on the
    first change after a view handed them out, so a view's agents and offers stay as read while
    its holder awaits (a claim prepared from them must fail its compare-and-set, not succeed
    on an agent that changed meanwhile).
    """

    def __init__(self, epoch: str | None, seq: int, last_id: str, tasks: Iterable[Task],
                 agents: Mapping[AgentId, Agent], offers: Mapping[TaskId, Offer]) -> None:
        self.epoch = epoch
        self.seq = seq
        self.last_id = last_id  # the feed entry ``seq`` was read from ("0-0": none yet)
        self.index = WaitingIndex(tasks)
        self._agents = dict(agents)
        self._offers = dict(offers)
        self._agents_shared = False
        self._offers_shared = False

    def view(self) -> RoutingView:
        self._agents_shared = self._offers_shared = True
        return RoutingView(self.index, MappingProxyType(self._agents),
                           MappingProxyType(self._offers))

    def apply(self, epoch: str | None, seq: int, entries: Iterable[tuple[Any, Any]]) -> bool:
        """Bring the mirror forward with feed entries read together with ``epoch`` and ``seq``;
        False when it must be reloaded (another epoch, or a gap: the feed was trimmed past us).

        Entries already applied are skipped: two views of one process read concurrently, and
        the later reply may repeat what the earlier one applied."""
        if epoch != self.epoch:
            return False
        for entry_id, fields in entries:
            data = {_text(k): _text(v) for k, v in fields.items()}
            number = int(data["seq"])
            if number <= self.seq:
                continue
            if number != self.seq + 1:
                return False
            self._change(data)
            self.seq = number
            self.last_id = _text(entry_id)
        if epoch is None:
            # No epoch: Redis lost the state (or it was never built), and the count may have
            # started again from zero; only an exact match is known to be current.
            return self.seq == seq
        return self.seq >= seq  # ahead: a concurrent view applied later entries already

    def _change(self, data: dict[str, str]) -> None:
        op = data["op"]
        if op == "put":
            self.index.add(Task.from_json(data["body"]))
        elif op == "del":
            task_id = TaskId(data["id"])
            self.index.discard(task_id)
            if task_id in self._offers:  # in Redis, an offer never outlives its task
                self._own_offers().pop(task_id)
        elif op == "agent":
            self._put_agent(data["body"], data["version"])
        elif op == "offer":
            offer = Offer.from_json(data["body"])
            self._own_offers()[offer.task_id] = offer
        elif op == "unoffer":
            self._own_offers().pop(TaskId(data["id"]), None)
        elif op == "claim":
            offer = Offer.from_json(data["body"])
            self._own_offers()[offer.task_id] = offer
            self._put_agent(data["agent"], data["version"])
        elif op == "accept":
            self._change({"op": "del", "id": data["id"]})
            self._put_agent(data["agent"], data["version"])
        else:
            raise ValueError(f"unknown routing feed op {op!r}")

    def _put_agent(self, body: str, version: str) -> None:
        agent = replace(Agent.from_json(body), version=int(version))
        self._own_agents()[agent.agent_id] = agent

    def _own_agents(self) -> dict[AgentId, Agent]:
        if self._agents_shared:
            self._agents = dict(self._agents)
            self._agents_shared = False
        return self._agents

    def _own_offers(self) -> dict[TaskId, Offer]:
        if self._offers_shared:
            self._offers = dict(self._offers)
            self._offers_shared = False
        return self._offers
