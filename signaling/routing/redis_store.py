"""The routing store shared by every process, on Redis (keys and scripts in ``redis_keys``).

Each change is one Lua script, so claims are atomic across processes. Every read is served from
a ``RoutingMirror`` of the tasks, agents and offers, brought forward from the ``{p}:feed``
stream first (one small round trip: the epoch, the change count and the entries not applied
yet), so a read costs what changed since the last one, not the size of the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from redis.asyncio import Redis

from signaling.routing.mirror import RoutingMirror
from signaling.routing.model import Agent, AgentId, Offer, Task, TaskId
from signaling.routing.redis_keys import (
    ADD_TASK,
    CLAIM,
    PUT_AGENT,
    REMOVE_TASK,
    RESOLVE,
    UPDATE_AGENT,
    UPDATE_TASK,
    VIEW,
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
        self._view = redis.register_script(VIEW)
        self._mirror: RoutingMirror | None = None

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
        return (await self.view()).index.get(task_id)

    async def tasks(self) -> list[Task]:
        return list((await self.view()).index.in_order())

    # --- agents --------------------------------------------------------------------------

    async def put_agent(self, agent: Agent) -> Agent:
        k = self.keys
        version = await self._put_agent(keys=[k.agents, k.agent_versions, k.seq, k.feed],
                                        args=[agent.agent_id, agent.to_json()])
        return replace(agent, version=int(version))

    async def update_agent(self, agent: Agent) -> Agent | None:
        k = self.keys
        version = int(await self._update_agent(keys=[k.agents, k.agent_versions, k.seq, k.feed],
                                               args=[agent.agent_id, agent.version, agent.to_json()]))
        return None if version < 0 else replace(agent, version=version)

    async def get_agent(self, agent_id: AgentId) -> Agent | None:
        return (await self.view()).agents.get(agent_id)

    async def agents(self) -> list[Agent]:
        return list((await self.view()).agents.values())

    # --- offers --------------------------------------------------------------------------

    async def offers(self) -> list[Offer]:
        return list((await self.view()).offers.values())

    async def claim(self, agent: Agent, candidates: Sequence[TaskId], offered_at: float,
                    deadline: float) -> Offer | None:
        if not candidates:
            return None
        k = self.keys
        reply = await self._claim(
            keys=[k.tasks, k.offers, k.agent_offer, k.agents, k.agent_versions, k.seq, k.feed],
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
        if self._mirror is None:
            return (await self._reload()).view()
        epoch, seq, entries = await self._view(keys=[k.epoch, k.seq, k.feed],
                                               args=[self._mirror.last_id])
        # The mirror read from may have been replaced (reloaded) meanwhile: apply to the current
        # one, which skips what it has and notices an epoch or a gap it cannot bridge.
        mirror = self._mirror
        changes = [(entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))
                   for entry_id, flat in entries]  # a script's XRANGE: fields as a flat list
        if mirror is None or not mirror.apply(_text(epoch) if epoch else None, int(seq or 0),
                                              changes):
            mirror = await self._reload()
        return mirror.view()

    async def _reload(self) -> RoutingMirror:
        k = self.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(k.epoch)
        pipe.get(k.seq)
        pipe.xrevrange(k.feed, max="+", min="-", count=1)
        pipe.hvals(k.tasks)
        pipe.hgetall(k.agents)
        pipe.hgetall(k.agent_versions)
        pipe.hvals(k.offers)
        epoch, seq, last, tasks, agents, versions, offers = await pipe.execute()
        parsed = (replace(Agent.from_json(body), version=int(versions[raw_id]))
                  for raw_id, body in agents.items() if raw_id in versions)
        offer_list = (Offer.from_json(o) for o in offers)
        self._mirror = RoutingMirror(
            _text(epoch) if epoch else None, int(seq or 0), _text(last[0][0]) if last else "0-0",
            (Task.from_json(b) for b in tasks), {a.agent_id: a for a in parsed},
            {o.task_id: o for o in offer_list})
        return self._mirror

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
