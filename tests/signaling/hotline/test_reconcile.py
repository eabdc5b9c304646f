"""Reconciliation rules: each disagreement between live state and database, and its repair."""

from __future__ import annotations

import pytest

from signaling.hotline.reconcile import (
    DbFacts,
    LiveAgent,
    LiveSnapshot,
    Repair,
    RepairKind,
    Serving,
    confirm,
    in_order,
    plan,
)

K = RepairKind
FREE = LiveAgent("available", frozenset(), False)


def busy(*cases: str) -> LiveAgent:
    return LiveAgent("busy", frozenset(cases), False)


@pytest.mark.parametrize(("live", "facts", "expected"), [
    # agreement: nothing to repair
    (LiveSnapshot({"c1"}, {"7": busy("c2")}, {"r2"}),
     DbFacts({"c1"}, {"c2": Serving("7", "r2", True)}), set()),
    # a waiting case the queue lost (intake cut short, a lost Redis write)
    (LiveSnapshot(set(), {}), DbFacts({"c1"}, {}), {Repair(K.MISSING_TASK, "c1")}),
    # a queued task the database ended or abandoned
    (LiveSnapshot({"c1"}, {}), DbFacts(set(), {}), {Repair(K.STALE_TASK, "c1")}),
    # accept cut short after the database write: the task is still queued, the lawyer offered
    (LiveSnapshot({"c1"}, {"7": LiveAgent("offered", frozenset(), True)}),
     DbFacts(set(), {"c1": Serving("7", "r1", False)}),
     {Repair(K.UNSETTLED_ASSIGNMENT, "c1", "7")}),
    # ... or the task left but the lawyer does not serve it (a rebuild signed them in free)
    (LiveSnapshot(set(), {"7": FREE}), DbFacts(set(), {"c1": Serving("7", None, False)}),
     {Repair(K.UNSETTLED_ASSIGNMENT, "c1", "7")}),
    # a lawyer not signed in live: nothing to settle on them yet
    (LiveSnapshot(set(), {}), DbFacts(set(), {"c1": Serving("7", None, False)}), set()),
    # end cut short: the lawyer still serves a case the database ended
    (LiveSnapshot(set(), {"7": busy("c1")}), DbFacts(set(), {}),
     {Repair(K.STALE_CONTACT, "c1", "7")}),
    # transfer cut short: the case waits again, the lawyer still serves it
    (LiveSnapshot(set(), {"7": busy("c1")}), DbFacts({"c1"}, {}),
     {Repair(K.STALE_CONTACT, "c1", "7"), Repair(K.MISSING_TASK, "c1")}),
    # the case moved on to another lawyer
    (LiveSnapshot(set(), {"7": busy("c1"), "8": busy("c1")}),
     DbFacts(set(), {"c1": Serving("8", None, False)}), {Repair(K.STALE_CONTACT, "c1", "7")}),
    # busy with nothing, offered with no offer
    (LiveSnapshot(set(), {"7": LiveAgent("busy", frozenset(), False),
                          "8": LiveAgent("offered", frozenset(), False)}), DbFacts(set(), {}),
     {Repair(K.IDLE_AGENT, agent_id="7"), Repair(K.IDLE_AGENT, agent_id="8")}),
    # a consultation's media room no worker hosts; a text one has none to host
    (LiveSnapshot(set(), {"7": busy("c1"), "8": busy("c2")}, set()),
     DbFacts(set(), {"c1": Serving("7", "r1", True), "c2": Serving("8", "r2", False)}),
     {Repair(K.UNHOSTED_ROOM, "c1", "7")}),
    # rooms unknown: no room repairs
    (LiveSnapshot(set(), {"7": busy("c1")}, None), DbFacts(set(), {"c1": Serving("7", "r1", True)}),
     set()),
])
def test_plan(live: LiveSnapshot, facts: DbFacts, expected: set[Repair]) -> None:
    assert plan(live, facts) == expected


def test_only_a_disagreement_seen_in_two_passes_in_a_row_is_repaired() -> None:
    """A step in flight (database written, live state a moment later) is seen once at most."""
    first = frozenset({Repair(K.MISSING_TASK, "c1"), Repair(K.STALE_TASK, "c2")})
    second = frozenset({Repair(K.MISSING_TASK, "c1"), Repair(K.MISSING_TASK, "c3")})
    assert confirm(frozenset(), first) == frozenset()
    assert confirm(first, second) == {Repair(K.MISSING_TASK, "c1")}


def test_repairs_settle_cases_before_agents_and_rooms() -> None:
    repairs = [Repair(K.UNHOSTED_ROOM, "c1", "7"), Repair(K.IDLE_AGENT, agent_id="9"),
               Repair(K.UNSETTLED_ASSIGNMENT, "c1", "7"), Repair(K.STALE_TASK, "c2")]
    assert [r.kind for r in in_order(repairs)] == [
        K.STALE_TASK, K.UNSETTLED_ASSIGNMENT, K.IDLE_AGENT, K.UNHOSTED_ROOM]
