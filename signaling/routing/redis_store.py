"""The routing store shared by every process, on Redis (keys and scripts in ``redis_keys``).

Each change is one Lua script, so claims are atomic across processes. Decisions read a
``RoutingView`` whose waiting index is a mirror of ``{p}:tasks`` kept up to date from the
``{p}:feed`` stream; agents and offers are read fresh with it, in the same round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from signaling.routing.index import WaitingIndex
from signaling.routing.model import Agent, AgentId, Offer, Task, TaskId
from signaling.routing.redis_keys import (
    ADD_TASK,
    CLAIM,
    PUT_AGENT,
    REMOVE_TASK,
    RESOLVE,
    UPDATE_AGENT,
    UPDATE_TASK,
    RoutingKeys,
)
from signaling.routing.store import Removed, RoutingView, rebuild_version_base


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisRoutingStore:
    def __init__(self, redis: Redis, prefix: str = "parley:routing") -> None:
        self._redis = redis
        self.keys = RoutingKeys.for_prefix(prefix)
        self._add = redis.register_script(ADD_TASK)
        self._update = redis.register_script(UPDATE_TASK)
        self._remove = redis.register_script(REMOVE_TASK)
        self._put_agent = redis.register_script(PUT_AGENT)
        self._update_agent = redis.register_script(UPDATE_AGENT)
        self._claim = redis.register_script(CLAIM)
        self._resolve = redis.register_script(RESOLVE)
        # the mirror of {p}:tasks: index, the epoch and seq it reflects, the last feed entry read
        self._index: WaitingIndex | None = None
        self._epoch: str | None = None
        self._seq = 0
        self._last_id = "0-0"
        # Parsed agents by raw id with the version they were read at: a view re-reads only the
        # versions and fetches the bodies that changed (most views change no agent).
        self._agent_cache: dict[bytes, tuple[bytes, Agent]] = {}

    # --- tasks ---------------------------------------------------------------------------

    async def add_task(self, task: Task) -> bool:
        k = self.keys
        return bool(await self._add(keys=[k.tasks, k.seq, k.feed], args=[task.task_id, task.to_json()]))

    async def update_task(self, task: Task) -> bool:
        k = self.keys
        return bool(await self._update(keys=[k.tasks, k.seq, k.feed],
                                       args=[task.task_id, task.to_json()]))

    async def remove_task(self, task_id: TaskId) -> Removed | None:
        k = self.keys
        reply = await self._remove(keys=[k.tasks, k.offers, k.agent_offer, k.seq, k.feed],
                                   args=[task_id])
        if not reply:
            return None
        body, offer = reply
        return Removed(Task.from_json(body), Offer.from_json(offer) if offer else None)

    async def get_task(self, task_id: TaskId) -> Task | None:
        body = await self._redis.hget(self.keys.tasks, task_id)
        return Task.from_json(body) if body else None

    async def tasks(self) -> list[Task]:
        bodies = await self._redis.hvals(self.keys.tasks)
        return sorted((Task.from_json(b) for b in bodies), key=lambda t: t.order_key)

    # --- agents --------------------------------------------------------------------------

    async def put_agent(self, agent: Agent) -> Agent:
        k = self.keys
        version = await self._put_agent(keys=[k.agents, k.agent_versions],
                                        args=[agent.agent_id, agent.to_json()])
        return replace(agent, version=int(version))

    async def update_agent(self, agent: Agent) -> Agent | None:
        k = self.keys
        version = int(await self._update_agent(keys=[k.agents, k.agent_versions],
                                               args=[agent.agent_id, agent.version, agent.to_json()]))
        return None if version < 0 else replace(agent, version=version)

    async def get_agent(self, agent_id: AgentId) -> Agent | None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hget(self.keys.agents, agent_id)
        pipe.hget(self.keys.agent_versions, agent_id)
        body, version = await pipe.execute()
        return replace(Agent.from_json(body), version=int(version)) if body else None

    async def agents(self) -> list[Agent]:
        versions = await self._redis.hgetall(self.keys.agent_versions)
        return list((await self._agents_at(versions)).values())

    async def _agents_at(self, versions: dict[Any, Any]) -> dict[AgentId, Agent]:
        """The agents whose versions are ``versions``, bodies fetched only where changed."""
        changed = [raw_id for raw_id, version in versions.items()
                   if self._agent_cache.get(raw_id, (b"",))[0] != version]
        if changed:
            # Body and version in one transaction: they change together in every script.
            pipe = self._redis.pipeline(transaction=True)
            pipe.hmget(self.keys.agents, changed)
            pipe.hmget(self.keys.agent_versions, changed)
            bodies, fresh = await pipe.execute()
            for raw_id, body, version in zip(changed, bodies, fresh, strict=True):
                if body is not None and version is not None:
                    agent = replace(Agent.from_json(body), version=int(version))
                    self._agent_cache[raw_id] = (version, agent)
        for gone in [raw_id for raw_id in self._agent_cache if raw_id not in versions]:
            del self._agent_cache[gone]
        return {agent.agent_id: agent for _, agent in
                (self._agent_cache[r] for r in versions if r in self._agent_cache)}

    # --- offers --------------------------------------------------------------------------

    async def offers(self) -> list[Offer]:
        bodies = await self._redis.hvals(self.keys.offers)
        return [Offer.from_json(b) for b in bodies]

    async def claim(self, agent: Agent, candidates: Sequence[TaskId], offered_at: float,
                    deadline: float) -> Offer | None:
        if not candidates:
            return None
        k = self.keys
        reply = await self._claim(
            keys=[k.tasks, k.offers, k.agent_offer, k.agents, k.agent_versions],
            args=[agent.agent_id, agent.version, agent.to_json(), repr(float(offered_at)),
                  repr(float(deadline)), *candidates],
        )
        if not isinstance(reply, list):
            return None
        return Offer(TaskId(_text(reply[0])), agent.agent_id, offered_at, deadline)

    async def resolve(self, offer: Offer, task: Task | None, agent: Agent) -> Agent | None:
        if agent.agent_id != offer.agent_id or (task is not None and task.task_id != offer.task_id):
            return None
        k = self.keys
        version = int(await self._resolve(
            keys=[k.tasks, k.offers, k.agent_offer, k.agents, k.agent_versions, k.seq, k.feed],
            args=[offer.task_id, offer.agent_id, agent.version, agent.to_json(),
                  task.to_json() if task is not None else ""],
        ))
        return None if version < 0 else replace(agent, version=version)

    # --- decisions -----------------------------------------------------------------------

    async def view(self) -> RoutingView:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(k.epoch)
        pipe.get(k.seq)
        pipe.xrange(k.feed, min=f"({self._last_id}", max="+")
        pipe.hgetall(k.agent_versions)
        pipe.hgetall(k.offers)
        epoch, seq, entries, versions, offers = await pipe.execute()
        epoch_text = _text(epoch) if epoch else None
        if not self._apply(epoch_text, int(seq or 0), entries):
            await self._reload()
        assert self._index is not None
        return RoutingView(
            self._index,
            await self._agents_at(versions),
            {TaskId(_text(t)): Offer.from_json(o) for t, o in offers.items()},
        )

    def _apply(self, epoch: str | None, seq: int, entries: list[Any]) -> bool:
        """Bring the mirror forward with feed entries; False when it must be reloaded."""
        if self._index is None or epoch != self._epoch:
            return False
        for entry_id, fields in entries:
            data = {_text(a): _text(b) for a, b in fields.items()}
            if int(data["seq"]) != self._seq + 1:
                return False  # a gap: the feed was trimmed past us, or Redis lost data
            if data["op"] == "put":
                self._index.add(Task.from_json(data["body"]))
            else:
                self._index.discard(TaskId(data["id"]))
            self._seq += 1
            self._last_id = _text(entry_id)
        return self._seq == seq

    async def _reload(self) -> None:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(k.epoch)
        pipe.get(k.seq)
        pipe.hvals(k.tasks)
        pipe.xrevrange(k.feed, max="+", min="-", count=1)
        epoch, seq, bodies, last = await pipe.execute()
        self._index = WaitingIndex(Task.from_json(b) for b in bodies)
        self._epoch = _text(epoch) if epoch else None
        self._seq = int(seq or 0)
        self._last_id = _text(last[0][0]) if last else "0-0"

    async def rebuild(self, tasks: Sequence[Task], agents: Sequence[Agent]) -> None:
        k = self.keys
        base = rebuild_version_base()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*k.all())
            if tasks:
                pipe.hset(k.tasks, mapping={t.task_id: t.to_json() for t in tasks})
            if agents:
                pipe.hset(k.agents, mapping={a.agent_id: a.to_json() for a in agents})
                pipe.hset(k.agent_versions, mapping={a.agent_id: base for a in agents})
            pipe.set(k.epoch, uuid.uuid4().hex)
            await pipe.execute()

    async def lost(self) -> bool:
        return not await self._redis.exists(self.keys.epoch)

    async def claim_rebuild(self, ttl_s: float) -> bool:
        return bool(await self._redis.set(self.keys.rebuild_lock, "1", nx=True,
                                          px=int(ttl_s * 1000)))

    async def close(self) -> None:
        await self._redis.aclose()
