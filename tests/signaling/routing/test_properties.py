"""Property tests (hypothesis): the indexed decision equals the rule as written, and the
invariants hold under random interleavings of joins, leaves, offers, accepts, declines,
timeouts, transfers, pulls and agents coming and going."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.catalogue import Mode
from signaling.routing.eligibility import can_serve, eligible_for
from signaling.routing.engine import RoutingEngine
from signaling.routing.index import WaitingIndex
from signaling.routing.memory import MemoryRoutingStore
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    Contact,
    Exclusion,
    PriorityClass,
    RoutingConfig,
    RoutingError,
    Task,
    TaskId,
)
from signaling.routing.policy import decide, decide_joined
from signaling.routing.regions import GANZHOU
from tests.signaling.routing.factories import T0, agent, reference_decide, task

REGIONS = ["gz-zhanggong", "gz-nankang", "gz-ruijin", "ly-changting", "sg-nanxiong"]
CATEGORIES = ["labour", "traffic", "marriage_family"]
LANGS = ["zh", "hak"]
CONFIG = RoutingConfig(wrap_up_s=10, preferred_wait_s=90)
# Modest example counts keep the suite fast (each run is a few milliseconds; ~1 s in all).
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

tasks_st = st.lists(st.builds(
    lambda i, at, cat, mode, region, prio, lang, pref, excl: task(
        f"t{i}", at, category=cat, mode=mode, region=region, priority=prio, language=lang,
        preferred_agent=AgentId(f"a{pref}") if pref is not None else None,
        excluded=(Exclusion(AgentId(f"a{excl}"), T0 + 400),) if excl is not None else ()),
    st.integers(0, 10_000), st.integers(0, 300), st.sampled_from(CATEGORIES), st.sampled_from(list(Mode)),
    st.sampled_from(REGIONS), st.sampled_from(list(PriorityClass)), st.sampled_from(LANGS),
    st.none() | st.integers(0, 5), st.none() | st.integers(0, 5),
), max_size=25, unique_by=lambda t: t.task_id)

agents_st = st.lists(st.builds(
    lambda i, region, skills, langs, state, idle, chats: agent(
        f"a{i}", region=region, skills=skills, languages=langs, state=state, idle=idle,
        contacts=tuple(Contact(TaskId(f"x{i}{n}"), Mode.TEXT, T0) for n in range(chats)),
        wrap_up_until=T0 + 200 if state is AgentState.WRAP_UP else None),
    st.integers(0, 8), st.sampled_from(REGIONS),
    st.dictionaries(st.sampled_from(CATEGORIES), st.integers(1, 5), max_size=3),
    st.sets(st.sampled_from(LANGS), min_size=1), st.sampled_from(list(AgentState)),
    st.integers(0, 50), st.integers(0, 2),
), max_size=8, unique_by=lambda a: a.agent_id)


@PROPS
@given(tasks_st, agents_st, st.integers(0, 600), st.sets(st.integers(0, 30), max_size=4))
def test_indexed_decision_is_the_rule(tasks: list[Task], agents: list[Agent], at: int,
                                      offered_ids: set[int]) -> None:
    offered = [TaskId(f"t{i}") for i in offered_ids]
    got = decide(tasks, agents, T0 + at, CONFIG, GANZHOU, offered)
    assert got == reference_decide(tasks, agents, T0 + at, CONFIG, GANZHOU, offered)
    assert len({d.task_id for d in got}) == len(got) == len({d.agent_id for d in got})
    assert not {d.task_id for d in got} & set(offered)


@PROPS
@given(tasks_st.filter(bool), agents_st, st.integers(-5, 600))
def test_the_agents_eligible_for_a_task_are_those_can_serve_admits(
        tasks: list[Task], agents: list[Agent], at: int) -> None:
    by_id = {a.agent_id: a for a in agents}
    for t in tasks:
        expected = [a for a in agents if can_serve(a, t, T0 + at, CONFIG, GANZHOU, by_id)]
        assert eligible_for(t, by_id, T0 + at, CONFIG, GANZHOU) == expected


@PROPS
@given(tasks_st, agents_st, st.integers(0, 600), tasks_st.filter(bool))
def test_a_join_into_a_settled_queue_is_decided_as_the_rule_decides_it(
        tasks: list[Task], agents: list[Agent], at: int, newcomers: list[Task]) -> None:
    now = T0 + at
    settled = decide(tasks, agents, now, CONFIG, GANZHOU)
    offered = [d.task_id for d in settled]
    holders = {d.agent_id for d in settled}
    agents = [replace(a, state=AgentState.OFFERED) if a.agent_id in holders else a for a in agents]
    joined = replace(newcomers[0], task_id=TaskId("new"))
    waiting = [*tasks, joined]
    got = decide_joined(joined.task_id, WaitingIndex(waiting), {a.agent_id: a for a in agents},
                        offered, now, CONFIG, GANZHOU)
    assert got == decide(waiting, agents, now, CONFIG, GANZHOU, offered)


def test_a_join_into_an_unsettled_queue_falls_back_to_the_full_decision() -> None:
    older, newer = task("older", 0), task("newer", 10)
    lawyer = agent("a1")
    got = decide_joined(newer.task_id, WaitingIndex([older, newer]), {lawyer.agent_id: lawyer},
                        (), T0 + 20, CONFIG, GANZHOU)
    assert got is None  # the lawyer may take the older case first: decide everything


# --- random interleavings through the engine --------------------------------------------

OPS = st.lists(st.tuples(
    st.sampled_from(["join", "join", "leave", "dispatch", "dispatch", "accept", "decline", "tick",
                     "end", "wrap", "transfer", "pull", "away", "back", "callback"]),
    st.integers(0, 1000), st.integers(0, 1000),
), min_size=5, max_size=60)


class World:
    """The engine over a memory store, and what the test knows must be true of it."""

    def __init__(self) -> None:
        self.store = MemoryRoutingStore()
        self.engine = RoutingEngine(self.store, config=CONFIG, graph=GANZHOU)
        self.now = T0
        self.joined: dict[TaskId, Task] = {}
        self.gone: set[TaskId] = set()  # left, or served to the end
        self.serial = 0

    async def setup(self) -> None:
        for i, region in enumerate(["gz-zhanggong", "gz-ruijin", "ly-changting", "gz-nankang"]):
            skills = {CATEGORIES[i % 3]: 4, CATEGORIES[(i + 1) % 3]: 2}
            await self.engine.sign_in(agent(f"a{i}", region=region, skills=skills,
                                            languages=("zh", "hak") if i % 2 else ("zh",)), self.now)

    async def step(self, op: str, x: int, y: int) -> None:
        view = await self.store.view()
        waiting = list(view.index.in_order())
        agents = sorted(view.agents.values(), key=lambda a: a.agent_id)
        offers = sorted(view.offers.values(), key=lambda o: o.task_id)
        a = agents[x % len(agents)]
        if op == "join":
            self.serial += 1
            t = task(f"c{self.serial}", self.now - T0, category=CATEGORIES[x % 3],
                     mode=list(Mode)[y % 3], region=REGIONS[y % 5],
                     priority=list(PriorityClass)[(x * 7 + y) % 5], language=LANGS[(x + y) % 4 // 3],
                     preferred_agent=AgentId(f"a{y % 4}") if x % 5 == 0 else None)
            assert await self.engine.join(t)
            self.joined[t.task_id] = t
        elif op == "leave" and waiting:
            t = waiting[x % len(waiting)]
            assert (await self.engine.leave(t.task_id, self.now)) is not None
            self.gone.add(t.task_id)
        elif op == "dispatch":
            before_tasks, before_agents = waiting, agents
            made = await self.engine.dispatch(self.now)
            expected = reference_decide(before_tasks, before_agents, self.now, CONFIG, GANZHOU,
                                        [o.task_id for o in offers])
            # priority and fairness: exactly the offers the written rule makes, in its order
            assert [(o.task_id, o.agent_id) for o in made] == [(d.task_id, d.agent_id) for d in expected]
        elif op == "accept" and offers:
            o = offers[x % len(offers)]
            await self.engine.accept(o.task_id, o.agent_id, self.now)
        elif op == "decline" and offers:
            o = offers[x % len(offers)]
            await self.engine.decline(o.task_id, o.agent_id, self.now)
        elif op == "tick":
            self.now += [1, 5, 21, 61, 181][x % 5]
            await self.engine.expire(self.now)
        elif op == "end" and a.contacts:
            await self.engine.end_contact(a.agent_id, a.contacts[y % len(a.contacts)].task_id, self.now)
            self.gone.add(a.contacts[y % len(a.contacts)].task_id)
        elif op == "wrap" and a.state is AgentState.WRAP_UP:
            await self.engine.end_wrap_up(a.agent_id, self.now)
        elif op == "transfer" and a.contacts:
            contact = a.contacts[y % len(a.contacts)]
            original = self.joined[contact.task_id]
            moved = await self.engine.transfer(original, a.agent_id, self.now, "转交",
                                               category=CATEGORIES[(x + 1) % 3])
            assert moved.enqueued_at == original.enqueued_at  # keeps its place
            self.joined[contact.task_id] = moved
        elif op == "pull":
            try:
                await self.engine.take_next(a.agent_id, self.now)
            except RoutingError as exc:  # pragma: no cover - single process: no contention
                raise AssertionError(exc) from exc
        elif op == "away" and a.state is not AgentState.OFFLINE:
            await self.engine.set_away(a.agent_id)
        elif op == "back" and a.state is AgentState.AWAY:
            await self.engine.set_available(a.agent_id, self.now)
        elif op == "callback" and waiting:
            await self.engine.request_callback(waiting[x % len(waiting)].task_id, self.now)
        await self.check()

    async def check(self) -> None:
        view = await self.store.view()
        waiting = {t.task_id for t in view.index.in_order()}
        serving = [c.task_id for a in view.agents.values() for c in a.contacts]
        # no task offered to two agents at once, no agent holding two offers
        holders = [o.agent_id for o in view.offers.values()]
        assert len(holders) == len(set(holders))
        assert set(view.offers) <= waiting
        for a in view.agents.values():
            assert (a.state is AgentState.OFFERED) == (a.agent_id in holders), a
            assert a.load() <= 1  # capacity never exceeded
        # no task lost, none in two places
        assert len(serving) == len(set(serving)) and not waiting & set(serving)
        assert waiting | set(serving) | self.gone == set(self.joined)
        assert not (waiting | set(serving)) & self.gone
        # every waiting task keeps its place: enqueued time and priority as joined
        for t in view.index.in_order():
            assert t.order_key == self.joined[t.task_id].order_key


@PROPS
@given(OPS)
def test_invariants_under_random_interleavings(ops: list[tuple[str, int, int]]) -> None:
    async def run() -> None:
        world = World()
        await world.setup()
        for op in ops:
            await world.step(*op)

    asyncio.run(run())


def test_an_agent_with_a_stale_version_cannot_overwrite() -> None:
    async def run() -> None:
        world = World()
        await world.setup()
        a = await world.store.get_agent(AgentId("a0"))
        assert a is not None
        await world.engine.set_away(AgentId("a0"))
        assert await world.store.update_agent(replace(a, state=AgentState.AVAILABLE)) is None

    asyncio.run(run())
