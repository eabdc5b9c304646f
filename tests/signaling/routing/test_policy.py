"""Table-driven tests of the routing decision (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from server.catalogue import Mode
from signaling.routing.index import WaitingIndex
from signaling.routing.lifecycle import accept, make_offer
from signaling.routing.model import (
    Agent,
    AgentState,
    Contact,
    Exclusion,
    PriorityClass,
    RoutingConfig,
    Task,
    TaskId,
)
from signaling.routing.policy import OfferDecision, best_tasks_for, decide
from signaling.routing.regions import GANZHOU
from tests.signaling.routing.factories import T0, agent, reference_decide, task

CONFIG = RoutingConfig()
P = PriorityClass


@dataclass(frozen=True)
class Case:
    name: str
    tasks: list[Task]
    agents: list[Agent]
    now: float  # seconds after T0
    expected: list[tuple[str, str]]  # (task, agent) offers in order
    offered: list[str] = field(default_factory=list)


CASES = [
    Case("higher priority first, whatever the wait",
         [task("n", 0), task("u", 50, priority=P.URGENT_RISK)], [agent("a")], 55, [("u", "a")]),
    Case("priority order: urgent, disabled, elderly, legal aid, normal",
         [task("n", 0), task("l", 1, priority=P.LEGAL_AID), task("e", 2, priority=P.ELDERLY),
          task("d", 3, priority=P.DISABLED), task("u", 4, priority=P.URGENT_RISK)],
         [agent("a", idle=1), agent("b", idle=2), agent("c", idle=3), agent("d", idle=4)], 10,
         [("u", "a"), ("d", "b"), ("e", "c"), ("l", "d")]),
    Case("longest waiting first within a class", [task("late", 5), task("early", 1)],
         [agent("a")], 10, [("early", "a")]),
    Case("ties on time broken by case id", [task("y", 1), task("x", 1)], [agent("a")], 10,
         [("x", "a")]),
    Case("best skill, then longest idle",
         [task("t", 0)],
         [agent("novice", skills={"labour": 3}, idle=0), agent("expert", skills={"labour": 5}, idle=9),
          agent("expert_idle", skills={"labour": 5}, idle=1)], 10, [("t", "expert_idle")]),
    Case("own region only before neighbour_after_s",
         [task("t", 0, region="gz-ruijin")], [agent("far", region="gz-zhanggong")], 59, []),
    Case("neighbours after neighbour_after_s",
         [task("t", 0, region="gz-ruijin")], [agent("near", region="gz-zhanggong")], 60,
         [("t", "near")]),
    Case("across the border: Changting reaches Ruijin at stage 1",
         [task("t", 0, region="ly-changting")], [agent("rj", region="gz-ruijin")], 61, [("t", "rj")]),
    Case("non-neighbours only after any_region_after_s",
         [task("t", 0, region="ly-changting")], [agent("zg", region="gz-zhanggong")], 179, []),
    Case("every region after any_region_after_s",
         [task("t", 0, region="ly-changting")], [agent("zg", region="gz-zhanggong")], 180,
         [("t", "zg")]),
    Case("widening does not cost a place: the old remote task beats a young local one",
         [task("remote", 0, region="sg-nanxiong"), task("local", 150)],
         [agent("a", region="gz-zhanggong")], 200, [("remote", "a")]),
    Case("a task nobody may serve yet does not hold up the ones behind",
         [task("remote", 0, region="sg-nanxiong"), task("local", 5)],
         [agent("a", region="gz-zhanggong")], 10, [("local", "a")]),
    Case("skill minimum 3 at first", [task("t", 0)], [agent("a", skills={"labour": 2})], 30, []),
    Case("skill minimum relaxes to 2", [task("t", 0)], [agent("a", skills={"labour": 2})], 60,
         [("t", "a")]),
    Case("skill minimum relaxes to 1 last", [task("t", 0)], [agent("a", skills={"labour": 1})], 179, []),
    Case("skill 1 at stage 2", [task("t", 0)], [agent("a", skills={"labour": 1})], 180, [("t", "a")]),
    Case("no skill in the category: never",
         [task("t", 0, category="traffic")], [agent("a", skills={"labour": 5})], 9999, []),
    Case("language or dialect must match",
         [task("t", 0, language="hak")], [agent("zh"), agent("hakka", languages=("zh", "hak"), idle=5)],
         10, [("t", "hakka")]),
    Case("a call fills an agent", [task("t", 0)],
         [agent("a", state=AgentState.BUSY,
                contacts=(Contact(TaskId("x"), Mode.AUDIO, T0),))], 10, []),
    Case("a chat agent takes up to three chats",
         [task("t1", 0, mode=Mode.TEXT), task("t2", 1, mode=Mode.TEXT)],
         [agent("a", state=AgentState.BUSY,
                contacts=(Contact(TaskId("x"), Mode.TEXT, T0), Contact(TaskId("y"), Mode.TEXT, T0)))],
         10, [("t1", "a")]),
    Case("a chat agent with a chat cannot take a call",
         [task("call", 0)],
         [agent("a", state=AgentState.BUSY, contacts=(Contact(TaskId("x"), Mode.TEXT, T0),))], 10, []),
    Case("one offer per agent, one agent per task",
         [task("t1", 0), task("t2", 1), task("t3", 2)], [agent("a", idle=1), agent("b", idle=2)], 10,
         [("t1", "a"), ("t2", "b")]),
    Case("a task already offered is skipped", [task("t1", 0), task("t2", 1)], [agent("a")], 10,
         [("t2", "a")], offered=["t1"]),
    Case("agents offered, away, offline or in wrap-up get nothing",
         [task("t", 0)],
         [agent("o", state=AgentState.OFFERED), agent("w", state=AgentState.AWAY),
          agent("off", state=AgentState.OFFLINE),
          agent("wu", state=AgentState.WRAP_UP, wrap_up_until=T0 + 20)], 10, []),
    Case("wrap-up past its end counts as free",
         [task("t", 0)], [agent("wu", state=AgentState.WRAP_UP, wrap_up_until=T0 + 5)], 10,
         [("t", "wu")]),
    Case("an excluded agent is skipped: the task goes to the next",
         [task("t", 0, excluded=(Exclusion(agent("a").agent_id, T0 + 300),))],
         [agent("a", idle=0), agent("b", idle=5)], 10, [("t", "b")]),
    Case("an exclusion ends", [task("t", 0, excluded=(Exclusion(agent("a").agent_id, T0 + 300),))],
         [agent("a")], 300, [("t", "a")]),
    Case("preferred agent first, even with less skill and idle time",
         [task("t", 0, preferred_agent="owner")],
         [agent("owner", skills={"labour": 3}, idle=9), agent("star", skills={"labour": 5}, idle=0)],
         10, [("t", "owner")]),
    Case("preferred agent needs no skill, region or language",
         [task("t", 0, preferred_agent="owner", language="hak", region="sg-nanxiong")],
         [agent("owner", skills={})], 1, [("t", "owner")]),
    Case("busy preferred agent: the task waits for them, others go on",
         [task("t", 0, preferred_agent="owner"), task("u", 5)],
         [agent("owner", state=AgentState.BUSY, contacts=(Contact(TaskId("x"), Mode.VIDEO, T0),)),
          agent("other")], 60, [("u", "other")]),
    Case("busy preferred agent: after preferred_wait_s anyone",
         [task("t", 0, preferred_agent="owner")],
         [agent("owner", state=AgentState.BUSY, contacts=(Contact(TaskId("x"), Mode.VIDEO, T0),)),
          agent("other")], 120, [("t", "other")]),
    Case("preferred agent away: anyone at once",
         [task("t", 0, preferred_agent="owner")],
         [agent("owner", state=AgentState.AWAY), agent("other")], 1, [("t", "other")]),
    Case("the preferred agent's task is served in its turn, not before a higher priority",
         [task("t", 0, preferred_agent="owner"), task("u", 5, priority=P.URGENT_RISK)],
         [agent("owner")], 10, [("u", "owner")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide(case: Case) -> None:
    offered = [TaskId(t) for t in case.offered]
    got = decide(case.tasks, case.agents, T0 + case.now, CONFIG, GANZHOU, offered)
    assert [(d.task_id, d.agent_id) for d in got] == case.expected
    # the indexed decision and the brute-force statement of the rule agree
    assert got == reference_decide(case.tasks, case.agents, T0 + case.now, CONFIG, GANZHOU, offered)


def test_decide_is_deterministic_whatever_the_input_order() -> None:
    tasks = [task(f"t{i}", i % 7, region=r) for i, r in
             enumerate(["gz-zhanggong", "gz-ruijin", "ly-changting", "gz-nankang"] * 5)]
    agents = [agent(f"a{i}", region=r, idle=i % 3) for i, r in
              enumerate(["gz-zhanggong", "gz-ruijin", "gz-nankang"] * 2)]
    first = decide(tasks, agents, T0 + 100, CONFIG, GANZHOU)
    assert decide(reversed(tasks), reversed(agents), T0 + 100, CONFIG, GANZHOU) == first
    assert len({d.task_id for d in first}) == len(first) == len({d.agent_id for d in first})


def test_take_next_is_the_best_task_for_that_agent() -> None:
    index = WaitingIndex([task("n", 0), task("u", 8, priority=P.URGENT_RISK),
                          task("far", 0, region="sg-nanxiong", priority=P.URGENT_RISK)])
    me = agent("a")
    got = best_tasks_for(me, index, {me.agent_id: me}, (), T0 + 10, CONFIG, GANZHOU, limit=3)
    assert [t.task_id for t in got] == ["u", "n"]


def test_offer_timeout_moves_the_task_to_the_next_agent() -> None:
    from signaling.routing.lifecycle import time_out

    t, a, b = task("t", 0), agent("a", idle=0), agent("b", idle=5)
    [first] = decide([t], [a, b], T0 + 1, CONFIG, GANZHOU)
    assert first == OfferDecision(t.task_id, a.agent_id)
    offer, a_offered = make_offer(t, a, T0 + 1, CONFIG)
    t_back, a_after = time_out(offer, t, a_offered, offer.deadline, CONFIG)
    assert a_after.missed_offers == 1 and a_after.state is AgentState.AVAILABLE
    assert t_back.order_key == t.order_key  # same place
    [second] = decide([t_back], [a_after, b], offer.deadline, CONFIG, GANZHOU)
    assert second == OfferDecision(t.task_id, b.agent_id)


def test_accepted_offer_makes_the_agent_busy() -> None:
    t, a = task("t", 0), agent("a")
    offer, offered = make_offer(t, a, T0 + 1, CONFIG)
    done, busy = accept(offer, t, offered, T0 + 2)
    assert busy.state is AgentState.BUSY and busy.contacts[0].task_id == t.task_id
    assert done.owner == a.agent_id
    assert decide([task("next", 1)], [busy], T0 + 3, CONFIG, GANZHOU) == []
    assert replace(busy, contacts=()).has_room_for(Mode.VIDEO)
