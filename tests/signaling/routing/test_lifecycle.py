"""Offer lifecycle and the other transitions (pure)."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from server.catalogue import Mode
from signaling.routing import lifecycle as lc
from signaling.routing.hours import ALWAYS, CHINA, EXAMPLE_HOURS, WorkingHours, is_open, office_days
from signaling.routing.model import (
    AgentId,
    AgentState,
    Contact,
    PriorityClass,
    RegionCode,
    RoutingConfig,
    RoutingError,
    Task,
)
from signaling.routing.policy import decide
from signaling.routing.regions import ELSEWHERE, GANZHOU, NEIGHBOUR, SAME, RegionGraph
from tests.signaling.routing.factories import T0, agent, task

CONFIG = RoutingConfig()


def test_misses_in_a_row_set_the_agent_away() -> None:
    a = agent("a")
    for n in range(1, CONFIG.missed_offers_before_away + 1):
        t = task(f"t{n}", n)
        offer, offered = lc.make_offer(t, a, T0 + n * 100, CONFIG)
        _, a = lc.time_out(offer, t, offered, offer.deadline, CONFIG)
        assert a.missed_offers == n
    assert a.state is AgentState.AWAY
    assert decide([task("x", 0)], [a], T0 + 1000, CONFIG, GANZHOU) == []
    back = lc.set_available(a, T0 + 1001)
    assert back.state is AgentState.AVAILABLE and back.missed_offers == 0


def test_an_accept_or_decline_ends_a_run_of_misses() -> None:
    a, t = agent("a"), task("t")
    offer, offered = lc.make_offer(t, a, T0, CONFIG)
    _, a = lc.time_out(offer, t, offered, offer.deadline, CONFIG)
    offer, offered = lc.make_offer(t, a, T0 + 50, CONFIG)
    _, a = lc.decline(offer, t, offered, T0 + 51, CONFIG)
    assert a.missed_offers == 0 and a.state is AgentState.AVAILABLE


def test_timeout_before_the_deadline_is_refused() -> None:
    t, a = task("t"), agent("a")
    offer, offered = lc.make_offer(t, a, T0, CONFIG)
    with pytest.raises(RoutingError) as err:
        lc.time_out(offer, t, offered, T0 + 5, CONFIG)
    assert err.value.code == "offer_open"
    with pytest.raises(RoutingError):
        lc.accept(offer, t, offered, offer.deadline + 0.1)


def test_decline_keeps_the_place_and_excludes_the_agent_for_a_while() -> None:
    t, a = task("t", 3, priority=PriorityClass.ELDERLY), agent("a")
    offer, offered = lc.make_offer(t, a, T0 + 10, CONFIG)
    back, a2 = lc.decline(offer, t, offered, T0 + 12, CONFIG)
    assert back.order_key == t.order_key
    assert back.excludes(a.agent_id, T0 + 12) and not back.excludes(a.agent_id, T0 + 12 + CONFIG.exclusion_s)
    assert [h.kind for h in back.history] == ["declined"]
    assert decide([back], [a2], T0 + 13, CONFIG, GANZHOU) == []


def test_transfer_keeps_the_place_owner_and_history() -> None:
    t = task("t", 0, owner=AgentId("first"))
    moved = lc.transfer(t, T0 + 400, AgentId("first"), "需要交通事故律师", category="traffic")
    assert moved.category == "traffic" and moved.enqueued_at == t.enqueued_at
    assert moved.owner == "first" and moved.history[-1].kind == "transferred"
    assert "需要交通事故律师" in moved.history[-1].note
    # ahead of a traffic case that arrived later, and not offered back to the first agent
    later = task("later", 100, category="traffic")
    first = agent("first", skills={"traffic": 5}, idle=0)
    other = agent("other", skills={"traffic": 3}, idle=1)
    got = decide([later, moved], [first, other], T0 + 401, CONFIG, GANZHOU)
    assert [(d.task_id, d.agent_id) for d in got] == [("t", "other"), ("later", "first")]


def test_transfer_to_a_named_agent_waits_for_them() -> None:
    t = task("t", 0)
    moved = lc.transfer(t, T0 + 500, AgentId("a"), "请王律师跟进", agent_id=AgentId("wang"))
    wang = agent("wang", state=AgentState.BUSY, skills={}, region="ly-changting",
                 contacts=(Contact(t.task_id, Mode.VIDEO, T0),))
    other = agent("other")
    assert decide([moved], [wang, other], T0 + 510, CONFIG, GANZHOU) == []
    freed = lc.end_wrap_up(lc.end_contact(wang, "t", T0 + 520, CONFIG), T0 + 551)
    [d] = decide([moved], [freed, other], T0 + 560, CONFIG, GANZHOU)
    assert d.agent_id == "wang"
    with pytest.raises(RoutingError):
        lc.transfer(t, T0, AgentId("a"), "no target")


def test_callback_keeps_the_place() -> None:
    t = task("t", 7)
    cb = lc.request_callback(t, T0 + 400)
    assert cb.callback and cb.order_key == t.order_key and cb.callback_requested_at == T0 + 400
    assert lc.request_callback(cb, T0 + 500) is cb


def test_abandonment_records_the_wait() -> None:
    gone = lc.abandon(lc.request_callback(task("t", 10), T0 + 20), T0 + 95)
    assert gone.waited_s == 85 and gone.callback


def test_wrap_up_after_the_last_contact() -> None:
    t1, t2 = task("c1", 0, mode=Mode.TEXT), task("c2", 1, mode=Mode.TEXT)
    a = agent("a")
    for t in (t1, t2):
        offer, offered = lc.make_offer(t, a, T0 + 5, CONFIG)
        _, a = lc.accept(offer, t, offered, T0 + 6)
    a = lc.end_contact(a, "c1", T0 + 100, CONFIG)
    assert a.state is AgentState.BUSY and len(a.contacts) == 1
    a = lc.end_contact(a, "c2", T0 + 200, CONFIG)
    assert a.state is AgentState.WRAP_UP and a.wrap_up_until == T0 + 200 + CONFIG.wrap_up_s
    a = lc.end_wrap_up(a, T0 + 230)
    assert a.state is AgentState.AVAILABLE and a.idle_since == T0 + 230
    with pytest.raises(RoutingError):
        lc.end_contact(a, "c2", T0 + 300, CONFIG)


def test_take_is_an_accepted_offer() -> None:
    offer, done, busy = lc.take(task("t"), agent("a"), T0 + 1, CONFIG)
    assert offer.agent_id == "a" and busy.state is AgentState.BUSY and done.owner == "a"


def test_away_needs_the_offer_withdrawn_first() -> None:
    t, a = task("t"), agent("a")
    offer, offered = lc.make_offer(t, a, T0, CONFIG)
    with pytest.raises(RoutingError):
        lc.set_away(offered)
    assert lc.set_away(lc.withdraw(offer, offered)).state is AgentState.AWAY


def test_serialisation_round_trips() -> None:
    t = lc.transfer(task("t", 1, preferred_agent=AgentId("p")), T0 + 9, AgentId("x"), "n",
                    category="traffic")
    assert Task.from_json(t.to_json()) == t
    a = agent("a", state=AgentState.BUSY, contacts=(Contact(t.task_id, Mode.TEXT, T0),))
    assert type(a).from_json(a.to_json()) == a


def test_region_graph() -> None:
    assert GANZHOU.distance(RegionCode("gz-ruijin"), RegionCode("gz-ruijin")) == SAME
    assert GANZHOU.distance(RegionCode("gz-ruijin"), RegionCode("ly-changting")) == NEIGHBOUR
    assert GANZHOU.distance(RegionCode("ly-changting"), RegionCode("gz-ruijin")) == NEIGHBOUR
    assert GANZHOU.distance(RegionCode("sg-nanxiong"), RegionCode("gz-nankang")) == NEIGHBOUR
    assert GANZHOU.distance(RegionCode("sg-nanxiong"), RegionCode("ly-changting")) == ELSEWHERE
    assert GANZHOU.distance(RegionCode("gz-ganxian"), RegionCode("gz-zhanggong")) == NEIGHBOUR
    with pytest.raises(ValueError):
        RegionGraph.from_edges([("a", "a")])


def _at(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA).timestamp()


@pytest.mark.parametrize(("region", "moment", "open_"), [
    ("qz-qujiang", (2025, 6, 16, 9, 0), True),  # Monday 09:00
    ("qz-qujiang", (2025, 6, 16, 12, 30), False),  # lunch
    ("qz-qujiang", (2025, 6, 16, 17, 29), True),
    ("qz-qujiang", (2025, 6, 16, 17, 30), False),
    ("qz-qujiang", (2025, 6, 21, 10, 0), False),  # Saturday
    ("qz-jiangshan", (2025, 6, 21, 10, 0), True),  # Jiangshan keeps Saturday mornings
    ("qz-jiangshan", (2025, 6, 22, 10, 0), False),  # Sunday
    ("qz-kecheng", (2025, 6, 22, 3, 0), True),  # around the clock
])
def test_working_hours(region: str, moment: tuple[int, ...], open_: bool) -> None:
    assert is_open(EXAMPLE_HOURS, RegionCode(region), _at(*moment)) is open_


def test_holidays_and_next_opening() -> None:
    from datetime import date

    week = office_days((time(9), time(17)))
    holiday = type(week)(days=week.days, closed_dates=frozenset({date(2025, 10, 1)}))
    hours = WorkingHours(default=holiday, regions={RegionCode("x"): ALWAYS})
    assert not is_open(hours, RegionCode("gz-ruijin"), _at(2025, 10, 1, 10, 0))
    assert is_open(hours, RegionCode("x"), _at(2025, 10, 1, 10, 0))
    assert holiday.next_opening(_at(2025, 10, 1, 10, 0)) == _at(2025, 10, 2, 9, 0)
    assert holiday.next_opening(_at(2025, 10, 2, 10, 0)) == _at(2025, 10, 2, 10, 0)
