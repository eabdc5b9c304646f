"""The mirror of the Redis routing store, fed entries as Redis returns them (bytes)."""

from __future__ import annotations

from dataclasses import replace

from signaling.routing.mirror import RoutingMirror
from signaling.routing.model import AgentId, AgentState, Offer, TaskId
from tests.signaling.routing.factories import T0, agent, task

Entry = tuple[bytes, dict[bytes, bytes]]


def entry(seq: int, op: str, id_: str, body: str = "", version: int | None = None,
          agent_body: str | None = None) -> Entry:
    fields = {b"seq": str(seq).encode(), b"op": op.encode(), b"id": id_.encode(),
              b"body": body.encode()}
    if version is not None:
        fields[b"version"] = str(version).encode()
    if agent_body is not None:
        fields[b"agent"] = agent_body.encode()
    return f"{seq}-0".encode(), fields


def empty(epoch: str | None = "e1") -> RoutingMirror:
    return RoutingMirror(epoch, 0, "0-0", (), {}, {})


def test_every_op_is_applied_in_order() -> None:
    mirror = empty()
    offer = Offer(TaskId("t1"), AgentId("a"), T0, T0 + 20)
    entries = [entry(1, "put", "t1", task("t1", 1).to_json()),
               entry(2, "put", "t2", task("t2", 2).to_json()),
               entry(3, "agent", "a", agent("a").to_json(), version=7),
               entry(4, "offer", "t1", offer.to_json()),
               entry(5, "agent", "a", agent("a", state=AgentState.OFFERED).to_json(), version=8),
               entry(6, "unoffer", "t1"),
               entry(7, "del", "t2")]
    assert mirror.apply("e1", 7, entries)
    view = mirror.view()
    assert [t.task_id for t in view.index.in_order()] == ["t1"]
    assert view.agents[AgentId("a")] == agent("a", state=AgentState.OFFERED, version=8)
    assert dict(view.offers) == {}
    assert (mirror.seq, mirror.last_id) == (7, "7-0")


def test_a_claim_and_an_accept_each_carry_their_agent_in_one_entry() -> None:
    """The scripts write an offer with its agent, and an accepted task's removal with its
    agent, as one entry each (half the feed writes of an offer and an answer)."""
    mirror = RoutingMirror("e1", 0, "0-0", [task("t1", 1), task("t2", 2)],
                           {AgentId("a"): agent("a", version=1)}, {})
    offer = Offer(TaskId("t1"), AgentId("a"), T0, T0 + 20)
    offered = agent("a", state=AgentState.OFFERED)
    assert mirror.apply("e1", 1, [entry(1, "claim", "t1", offer.to_json(), version=2,
                                        agent_body=offered.to_json())])
    view = mirror.view()
    assert dict(view.offers) == {offer.task_id: offer}
    assert view.agents[AgentId("a")] == replace(offered, version=2)
    busy = agent("a", state=AgentState.BUSY)
    assert mirror.apply("e1", 2, [entry(2, "accept", "t1", version=3,
                                        agent_body=busy.to_json())])
    view = mirror.view()
    assert [t.task_id for t in view.index.in_order()] == ["t2"]
    assert dict(view.offers) == {}
    assert view.agents[AgentId("a")] == replace(busy, version=3)


def test_removing_a_task_drops_its_offer() -> None:
    offer = Offer(TaskId("t1"), AgentId("a"), T0, T0 + 20)
    mirror = RoutingMirror("e1", 0, "0-0", [task("t1", 1)], {}, {offer.task_id: offer})
    assert mirror.apply("e1", 1, [entry(1, "del", "t1")])
    assert dict(mirror.view().offers) == {}


def test_entries_already_applied_are_skipped() -> None:
    """Two views of one process read at once; the later reply repeats entries the earlier one
    applied, and may even be older than the mirror: neither is a reason to reload."""
    mirror = empty()
    first = [entry(1, "put", "t1", task("t1", 1).to_json()),
             entry(2, "put", "t2", task("t2", 2).to_json())]
    assert mirror.apply("e1", 2, first)
    assert mirror.apply("e1", 1, first[:1])
    assert mirror.apply("e1", 3, [*first, entry(3, "del", "t1")])
    assert [t.task_id for t in mirror.view().index.in_order()] == ["t2"]


def test_a_gap_another_epoch_or_a_missing_change_asks_for_a_reload() -> None:
    mirror = empty()
    assert not mirror.apply("e1", 2, [entry(2, "put", "t1", task("t1").to_json())])  # gap
    assert not empty().apply("e2", 0, [])  # rebuilt meanwhile
    assert not empty().apply("e1", 1, [])  # a change counted but its entry trimmed away


def test_without_an_epoch_a_count_that_went_back_asks_for_a_reload() -> None:
    """No epoch: Redis lost everything and counts again from zero."""
    mirror = empty(None)
    assert mirror.apply(None, 2, [entry(1, "put", "t1", task("t1").to_json()),
                                  entry(2, "put", "t2", task("t2").to_json())])
    assert not mirror.apply(None, 1, [entry(1, "put", "t3", task("t3").to_json())])


def test_a_view_keeps_the_agents_and_offers_it_was_given() -> None:
    """A claim prepared from a view must fail its compare-and-set if the agent changed while
    the claimer awaited: the view's agents are not updated under it."""
    a = agent("a", version=1)
    mirror = RoutingMirror("e1", 0, "0-0", (), {a.agent_id: a}, {})
    before = mirror.view()
    offer = Offer(TaskId("t1"), AgentId("a"), T0, T0 + 20)
    assert mirror.apply("e1", 2, [entry(1, "agent", "a", replace(a, state=AgentState.AWAY)
                                        .to_json(), version=2),
                                  entry(2, "offer", "t1", offer.to_json())])
    assert before.agents[AgentId("a")] == a and dict(before.offers) == {}
    after = mirror.view()
    assert after.agents[AgentId("a")].state is AgentState.AWAY and after.offers[TaskId("t1")] == offer
