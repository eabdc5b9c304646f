"""One contract for every RoutingStore backend: memory, and Redis on the real server.

``handles`` gives a second handle on the same state: for Redis another client and store object
on the same prefix, as a second process would have; for memory the same object.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.catalogue import Mode
from signaling.routing import lifecycle
from signaling.routing.engine import RoutingEngine
from signaling.routing.memory import MemoryRoutingStore
from signaling.routing.model import (
    AgentId,
    AgentState,
    Offer,
    PriorityClass,
    RoutingConfig,
    Task,
    TaskId,
)
from signaling.routing.redis_store import RedisRoutingStore
from signaling.routing.regions import GANZHOU
from signaling.routing.store import RoutingStore, create_routing_store
from tests import backends as conftest
from tests.signaling.routing.factories import T0, agent, task

Handles = Callable[[], Awaitable[RoutingStore]]
CONFIG = RoutingConfig()


@pytest.fixture(params=["memory", "redis"])
async def handles(request: pytest.FixtureRequest) -> AsyncIterator[Handles]:
    if request.param == "memory":
        shared: RoutingStore = MemoryRoutingStore()

        async def same() -> RoutingStore:
            return shared

        yield same
        return
    probe = Redis.from_url(conftest.REDIS_URL)
    try:
        await probe.ping()
    except (OSError, RedisConnectionError) as exc:  # redis-py's ConnectionError is no OSError
        await probe.aclose()
        conftest.unavailable("Redis", exc)
    prefix = f"test:{uuid.uuid4().hex}"
    opened: list[RoutingStore] = []

    async def another() -> RoutingStore:
        store = create_routing_store(conftest.REDIS_URL, prefix)
        opened.append(store)
        return store

    yield another
    keys = [k async for k in probe.scan_iter(f"{prefix}:*")]
    if keys:
        await probe.delete(*keys)
    for store in opened:
        await store.close()
    await probe.aclose()


@pytest.fixture
async def store(handles: Handles) -> RoutingStore:
    return await handles()


def ids(tasks: list[Task]) -> list[str]:
    return [t.task_id for t in tasks]


async def test_tasks_in_service_order_and_add_is_idempotent(store: RoutingStore) -> None:
    for t in (task("n2", 2), task("n1", 1), task("u", 9, priority=PriorityClass.URGENT_RISK),
              task("e", 5, priority=PriorityClass.ELDERLY), task("n0", 1)):
        assert await store.add_task(t)
    assert not await store.add_task(task("n1", 0))
    assert ids(await store.tasks()) == ["u", "e", "n0", "n1", "n2"]
    assert ids(list((await store.view()).index.in_order())) == ["u", "e", "n0", "n1", "n2"]
    assert await store.get_task(TaskId("n1")) == task("n1", 1)


async def test_update_keeps_the_place(store: RoutingStore) -> None:
    await store.add_task(task("a", 1))
    await store.add_task(task("b", 2))
    assert await store.update_task(lifecycle.request_callback(task("a", 1), T0 + 5))
    assert not await store.update_task(task("zz", 0))
    got = await store.tasks()
    assert ids(got) == ["a", "b"] and got[0].callback


async def test_agent_versions_are_compare_and_set(store: RoutingStore) -> None:
    first = await store.put_agent(agent("a"))
    changed = await store.update_agent(replace(first, state=AgentState.AWAY))
    assert changed is not None and changed.version == first.version + 1
    assert await store.update_agent(replace(first, state=AgentState.AVAILABLE)) is None  # stale
    assert await store.update_agent(agent("unknown")) is None
    assert await store.get_agent(AgentId("a")) == changed
    assert [a.agent_id for a in await store.agents()] == ["a"]


async def test_claim_offers_the_first_free_candidate(store: RoutingStore) -> None:
    for name in ("t1", "t2", "t3"):
        await store.add_task(task(name, int(name[1])))
    a = await store.put_agent(agent("a"))
    b = await store.put_agent(agent("b"))
    _, a_offered = lifecycle.make_offer(task("t1"), a, T0, CONFIG)
    offer = await store.claim(a_offered, [TaskId("t1"), TaskId("t2")], T0 + 1.25, T0 + 21.25)
    assert offer == Offer(TaskId("t1"), AgentId("a"), T0 + 1.25, T0 + 21.25)
    stored_a = await store.get_agent(AgentId("a"))
    assert stored_a is not None and stored_a.state is AgentState.OFFERED
    # a second offer to the same agent is refused, even with a fresh version
    assert await store.claim(stored_a, [TaskId("t3")], T0, T0 + 20) is None
    # another agent falls through to the next candidate; none left -> None
    _, b_offered = lifecycle.make_offer(task("t1"), b, T0, CONFIG)
    offer_b = await store.claim(b_offered, [TaskId("t1"), TaskId("t2")], T0, T0 + 20)
    assert offer_b is not None and offer_b.task_id == "t2"
    c = await store.put_agent(agent("c"))
    assert await store.claim(c, [TaskId("t1"), TaskId("t2"), TaskId("gone")], T0, T0 + 20) is None
    # a stale agent version is refused
    assert await store.claim(replace(c, version=c.version - 1), [TaskId("t3")], T0, T0 + 20) is None
    assert {o.task_id for o in await store.offers()} == {"t1", "t2"}
    assert set((await store.view()).offers) == {"t1", "t2"}


async def test_resolve_accept_decline_and_stale(store: RoutingStore) -> None:
    t1, t2 = task("t1", 1), task("t2", 2)
    await store.add_task(t1)
    await store.add_task(t2)
    a = await store.put_agent(agent("a"))
    planned, offered = lifecycle.make_offer(t1, a, T0 + 3, CONFIG)
    offer = await store.claim(offered, [t1.task_id], planned.offered_at, planned.deadline)
    assert offer == planned
    held = await store.get_agent(AgentId("a"))
    assert held is not None
    back, settled = lifecycle.decline(offer, t1, held, T0 + 4, CONFIG)
    assert await store.resolve(offer, back, replace(settled, version=held.version - 1)) is None
    stored = await store.resolve(offer, back, settled)
    assert stored is not None and stored.state is AgentState.AVAILABLE
    assert await store.resolve(offer, back, stored) is None  # no longer in flight
    assert ids(await store.tasks()) == ["t1", "t2"] and (await store.tasks())[0].excluded
    # accept takes the task out of the queue
    planned2, offered2 = lifecycle.make_offer(t2, stored, T0 + 5, CONFIG)
    offer2 = await store.claim(offered2, [t2.task_id], planned2.offered_at, planned2.deadline)
    assert offer2 == planned2
    held2 = await store.get_agent(AgentId("a"))
    assert held2 is not None
    _, busy = lifecycle.accept(offer2, t2, held2, T0 + 6)
    assert await store.resolve(offer2, None, busy) is not None
    assert ids(await store.tasks()) == ["t1"] and await store.offers() == []


async def test_remove_voids_the_offer(store: RoutingStore) -> None:
    await store.add_task(task("t", 1))
    a = await store.put_agent(agent("a"))
    _, offered = lifecycle.make_offer(task("t", 1), a, T0, CONFIG)
    assert await store.claim(offered, [TaskId("t")], T0, T0 + 20) is not None
    removed = await store.remove_task(TaskId("t"))
    assert removed is not None and removed.offer is not None and removed.offer.agent_id == "a"
    assert await store.remove_task(TaskId("t")) is None
    assert await store.offers() == []
    # the agent's offer slot is free again
    await store.add_task(task("u", 2))
    fresh = await store.get_agent(AgentId("a"))
    assert fresh is not None
    assert await store.claim(lifecycle.withdraw(removed.offer, fresh), [TaskId("u")], T0, T0 + 9)


async def test_a_second_process_sees_the_changes(handles: Handles) -> None:
    one, two = await handles(), await handles()
    await one.add_task(task("a", 1))
    assert ids(list((await two.view()).index.in_order())) == ["a"]
    await one.add_task(task("b", 0))
    await one.update_task(lifecycle.request_callback(task("a", 1), T0))
    await one.remove_task(TaskId("b"))
    await one.add_task(task("c", 3))
    view = await two.view()
    assert ids(list(view.index.in_order())) == ["a", "c"] and view.index.get(TaskId("a")).callback  # type: ignore[union-attr]


async def test_a_second_process_sees_agent_and_offer_changes(handles: Handles) -> None:
    """Another process's reads follow every change to agents and offers, not only to tasks
    (Redis: the mirror must not keep what it read before)."""
    one, two = await handles(), await handles()
    await one.add_task(task("t", 1))
    a = await one.put_agent(agent("a"))
    assert (await two.view()).agents[AgentId("a")] == a and await two.offers() == []
    _, offered = lifecycle.make_offer(task("t", 1), a, T0, CONFIG)
    offer = await one.claim(offered, [TaskId("t")], T0, T0 + 20)
    assert offer is not None
    view = await two.view()
    assert view.agents[AgentId("a")] == replace(offered, version=a.version + 1)
    assert dict(view.offers) == {TaskId("t"): offer}
    t, declined = lifecycle.decline(offer, task("t", 1), view.agents[AgentId("a")], T0 + 1, CONFIG)
    stored = await one.resolve(offer, t, declined)
    assert stored is not None
    assert await two.offers() == [] and await two.get_agent(AgentId("a")) == stored
    assert await two.get_task(TaskId("t")) == t
    away = await one.update_agent(replace(stored, state=AgentState.AWAY))
    assert away is not None and (await two.agents()) == [away]
    assert await two.update_agent(replace(stored, state=AgentState.AVAILABLE)) is None  # stale
    assert await one.remove_task(TaskId("t")) is not None
    assert await two.tasks() == [] and await two.get_task(TaskId("t")) is None


async def test_a_second_process_sees_an_accepted_offer(handles: Handles) -> None:
    """An accept removes the task and its offer and writes the agent in one change (Redis: one
    feed entry); another process's reads follow all three."""
    one, two = await handles(), await handles()
    await one.add_task(task("t", 1))
    await one.add_task(task("u", 2))
    a = await one.put_agent(agent("a"))
    _, offered = lifecycle.make_offer(task("t", 1), a, T0, CONFIG)
    offer = await one.claim(offered, [TaskId("t")], T0, T0 + 20)
    assert offer is not None and (await two.view()).offers[TaskId("t")] == offer
    held = (await one.view()).agents[AgentId("a")]
    _, busy = lifecycle.accept(offer, task("t", 1), held, T0 + 1)
    stored = await one.resolve(offer, None, busy)
    assert stored is not None
    view = await two.view()
    assert ids(list(view.index.in_order())) == ["u"] and dict(view.offers) == {}
    assert view.agents[AgentId("a")] == stored and stored.state is AgentState.BUSY


@pytest.mark.parametrize("handles", ["redis"], indirect=True)  # the memory store has no mirror
async def test_reads_at_once_in_one_process_bring_the_mirror_forward_without_reloading(
        handles: Handles, monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent views of one process read overlapping feed entries; none is a gap."""
    one, two = await handles(), await handles()
    assert isinstance(two, RedisRoutingStore)
    await two.view()
    reloads = 0
    reload = two._reload

    async def counted() -> object:
        nonlocal reloads
        reloads += 1
        return await reload()

    monkeypatch.setattr(two, "_reload", counted)
    for i in range(20):
        await one.add_task(task(f"t{i:02}", i))
        await one.put_agent(agent(f"a{i:02}"))
        views = await asyncio.gather(*(two.view() for _ in range(5)))
        assert all(f"t{i:02}" in v.index and f"a{i:02}" in v.agents for v in views)
    assert reloads == 0
    assert ids(await two.tasks()) == [f"t{i:02}" for i in range(20)]


async def test_rebuild_replaces_everything(store: RoutingStore) -> None:
    await store.add_task(task("old", 1))
    a = await store.put_agent(agent("a"))
    await store.claim(a, [TaskId("old")], T0, T0 + 20)
    await store.rebuild([task("n2", 2), task("n1", 1)], [agent("b")])
    view = await store.view()
    assert ids(list(view.index.in_order())) == ["n1", "n2"]
    assert list(view.agents) == ["b"] and dict(view.offers) == {}
    b = view.agents[AgentId("b")]
    assert await store.update_agent(replace(b, state=AgentState.AWAY)) is not None


async def test_flush_mid_queue_then_rebuild_gives_the_same_order(handles: Handles) -> None:
    store = await handles()
    database = [task(f"c{i:02}", (i * 7) % 11, priority=list(PriorityClass)[i % 5]) for i in range(30)]
    for t in database:
        await store.add_task(t)
    before = ids(list((await store.view()).index.in_order()))
    if isinstance(store, RedisRoutingStore):  # Redis loses everything (restart without persistence)
        redis = Redis.from_url(conftest.REDIS_URL)
        await redis.delete(*store.keys.all())
        await redis.aclose()
        assert len((await store.view()).index) == 0  # the mirror notices
    await store.rebuild(database, [agent("a")])
    assert ids(list((await store.view()).index.in_order())) == before
    assert ids(await (await handles()).tasks()) == before


async def test_a_trimmed_feed_makes_the_mirror_reload(handles: Handles) -> None:
    one, two = await handles(), await handles()
    await one.add_task(task("a", 1))
    await two.view()
    for i in range(5):
        await one.add_task(task(f"b{i}", 2 + i))
    if isinstance(one, RedisRoutingStore):
        redis = Redis.from_url(conftest.REDIS_URL)
        await redis.xtrim(one.keys.feed, maxlen=2)
        await redis.aclose()
    assert ids(list((await two.view()).index.in_order())) == ["a", "b0", "b1", "b2", "b3", "b4"]


async def test_many_agents_claiming_at_once_never_share_a_task(handles: Handles) -> None:
    """100 agents, spread over 4 handles (processes), claim at the same moment, each passing the
    same 8 candidates: 60 tasks, so 60 win one task each and 40 get nothing."""
    stores = [await handles() for _ in range(4)]
    for i in range(60):
        await stores[0].add_task(task(f"t{i:02}", i))
    agents = [await stores[0].put_agent(agent(f"a{i:03}")) for i in range(100)]
    candidates = [TaskId(f"t{i:02}") for i in range(60)]

    async def one(i: int) -> Offer | None:
        offered = replace(agents[i], state=AgentState.OFFERED)
        mine = candidates[(i * 7) % 60:][:8] + candidates[:8]
        for attempt in range(0, 60, 8):  # fall through the list as a real claimer would
            batch = mine if attempt == 0 else candidates[attempt:attempt + 8]
            got = await stores[i % 4].claim(offered, batch, T0, T0 + 20)
            if got is not None:
                return got
        return None

    results = await asyncio.gather(*(one(i) for i in range(100)))
    won = [r for r in results if r is not None]
    assert len({o.task_id for o in won}) == len(won) == 60
    assert len({o.agent_id for o in won}) == 60
    assert {o.task_id for o in await stores[1].offers()} == set(candidates)


async def test_engine_round_trip(handles: Handles) -> None:
    """The shell over each backend: offer, decline to the next agent, accept, take next, leave."""
    engine = RoutingEngine(await handles(), config=CONFIG, graph=GANZHOU)
    await engine.sign_in(agent("a", idle=0), T0)
    await engine.sign_in(agent("b", idle=0), T0 + 1)  # idle since later
    await engine.join(task("t1", 10))
    await engine.join(task("t2", 11, mode=Mode.TEXT))
    offers = await engine.dispatch(T0 + 12)
    assert [(o.task_id, o.agent_id) for o in offers] == [("t1", "a"), ("t2", "b")]
    assert await engine.dispatch(T0 + 12) == []  # nothing new: no double offer
    declined = await engine.decline(TaskId("t1"), AgentId("a"), T0 + 13)
    assert declined is not None and declined.agent.state is AgentState.AVAILABLE
    assert await engine.accept(TaskId("t1"), AgentId("a"), T0 + 13) is None  # no longer offered
    accepted = await engine.accept(TaskId("t2"), AgentId("b"), T0 + 14)
    assert accepted is not None and accepted.agent.state is AgentState.BUSY
    # b (a text chat) has room for more text; t1 is a video: a excluded, b full for video
    assert await engine.dispatch(T0 + 15) == []
    await engine.join(task("t3", 16, mode=Mode.TEXT))
    pulled = await engine.take_next(AgentId("b"), T0 + 17)
    assert pulled is not None and pulled.task.task_id == "t3" and len(pulled.agent.contacts) == 2
    # a times out nothing; the citizen of t1 leaves
    gone = await engine.leave(TaskId("t1"), T0 + 100)
    assert gone is not None and gone.waited_s == 90
    assert await engine.take_next(AgentId("a"), T0 + 101) is None


async def test_engine_timeouts_and_away(handles: Handles) -> None:
    engine = RoutingEngine(await handles(), config=CONFIG, graph=GANZHOU)
    await engine.sign_in(agent("a"), T0)
    now = T0 + 1
    for n in range(CONFIG.missed_offers_before_away):
        await engine.join(task(f"t{n}", n))
        [offer] = await engine.dispatch(now)
        assert offer.agent_id == "a"
        assert await engine.expire(offer.deadline - 0.5) == []
        [missed] = await engine.expire(offer.deadline)
        now = offer.deadline + 1
    assert missed.agent.state is AgentState.AWAY and missed.agent.missed_offers == 3
    assert await engine.dispatch(now) == []
    await engine.set_available(AgentId("a"), now)
    await engine.sign_in(agent("b"), now)
    offers = await engine.dispatch(now + 1)
    # a is excluded from the three tasks it missed for exclusion_s: b gets the first
    assert [(o.task_id, o.agent_id) for o in offers] == [("t0", "b")]
    away = await engine.set_away(AgentId("b"))  # withdraws b's offer first
    assert away.state is AgentState.AWAY and await (await handles()).offers() == []


async def test_many_agents_taking_next_at_once_through_several_engines(handles: Handles) -> None:
    """100 agents press "take next" at the same moment through 4 engines (processes)."""
    engines = [RoutingEngine(await handles(), config=CONFIG, graph=GANZHOU) for _ in range(4)]
    for i in range(100):
        await engines[0].sign_in(agent(f"a{i:03}", idle=i), T0)
    for i in range(60):
        await engines[0].join(task(f"t{i:02}", i))
    results = await asyncio.gather(*(engines[i % 4].take_next(AgentId(f"a{i:03}"), T0 + 100)
                                     for i in range(100)))
    served = [r.task.task_id for r in results if r is not None]
    assert sorted(served) == [f"t{i:02}" for i in range(60)]
    store = await handles()
    assert await store.tasks() == [] and await store.offers() == []
    busy = [a for a in await store.agents() if a.contacts]
    assert len(busy) == 60 and all(len(a.contacts) == 1 for a in busy)


async def test_settling_an_assignment_whatever_the_live_offer_did(handles: Handles) -> None:
    """The database gave t to a (it decides): the live state follows whether a still holds
    the offer, the offer timed out and went to b meanwhile, or it is settled a second time."""
    engine = RoutingEngine(await handles(), config=CONFIG, graph=GANZHOU)
    await engine.sign_in(agent("a", idle=0), T0)
    await engine.join(task("t", 1))
    [offer] = await engine.dispatch(T0 + 2)
    assert offer.agent_id == "a"
    [missed] = await engine.expire(offer.deadline + 1)  # a's offer ran out ...
    assert missed.agent.agent_id == "a"
    await engine.sign_in(agent("b", idle=0), offer.deadline + 1)
    [again] = await engine.dispatch(offer.deadline + 2)  # ... and went to b
    assert again.agent_id == "b"
    now = offer.deadline + 3
    settled = await engine.settle_assignment(TaskId("t"), AgentId("a"), Mode.VIDEO, now)
    assert settled.agent is not None and settled.agent.state is AgentState.BUSY
    assert [c.task_id for c in settled.agent.contacts] == ["t"]
    assert [w.agent_id for w in settled.withdrawn] == ["b"]
    assert settled.withdrawn[0].state is AgentState.AVAILABLE
    assert await engine.tasks() == [] and await engine.offers() == []
    twice = await engine.settle_assignment(TaskId("t"), AgentId("a"), Mode.VIDEO, now)
    assert twice.agent is not None and [c.task_id for c in twice.agent.contacts] == ["t"]
    assert (await engine.settle_assignment(TaskId("t"), AgentId("nobody"), Mode.VIDEO, now)
            ).agent is None


async def test_settling_while_the_offer_is_still_held_is_an_ordinary_accept(
        handles: Handles) -> None:
    engine = RoutingEngine(await handles(), config=CONFIG, graph=GANZHOU)
    await engine.sign_in(agent("a", idle=0), T0)
    await engine.join(task("t", 1))
    [offer] = await engine.dispatch(T0 + 2)
    assert await engine.offer_of(AgentId("a")) == offer
    settled = await engine.settle_assignment(TaskId("t"), AgentId("a"), Mode.VIDEO, T0 + 3)
    assert settled.withdrawn == () and settled.agent is not None
    assert settled.agent.state is AgentState.BUSY and settled.agent.missed_offers == 0
    assert await engine.offer_of(AgentId("a")) is None and await engine.tasks() == []
