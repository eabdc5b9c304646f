"""The hotline over real sockets: offers, declines, transfers, callbacks and supervisor figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from server.config import Settings
from tests.clients import SocketClient, get_text
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Fast widening and short offers so the tests see them happen.
    return Settings.from_env({
        "PARLEY_DATA_DIR": str(tmp_path / "var"),
        "PARLEY_ROUTING_NEIGHBOUR_AFTER_S": "2",
        "PARLEY_ROUTING_ANY_REGION_AFTER_S": "600",
        "PARLEY_OFFER_TIMEOUT_S": "3",
        "PARLEY_WRAP_UP_S": "0",
        "PARLEY_LONGEST_WAIT_ALERT_S": "1",
    })


async def lawyer(running: Running, connect: Connect, name: str, skills: dict[str, int],
                 region: str) -> SocketClient:
    await running.add_lawyer(name, skills=skills, region=region)
    return await connect(await running.login(name))


async def test_offers_follow_skill_and_region(running: Running, connect: Connect) -> None:
    labour = await lawyer(running, connect, "labour", {"labour": 5}, "qz-kecheng")
    family = await lawyer(running, connect, "family", {"marriage_family": 5}, "qz-jiangshan")
    labour_case, _ = await running.intake(category="labour", region="qz-kecheng")
    family_case, _ = await running.intake(category="marriage_family", region="qz-jiangshan")
    offer = await labour.wait_for("offer:new")
    assert offer["case"]["id"] == labour_case and offer["timeout_s"] == 3
    offer = await family.wait_for("offer:new")
    assert offer["case"]["id"] == family_case
    accepted = await labour.call("offer:accept", {"case_id": labour_case})
    assert accepted["ok"] and accepted["room"]["case_id"] == labour_case
    assert (await labour.call("offer:accept", {"case_id": labour_case}))["error"]["code"] \
        == "offer_gone"


async def test_a_citizen_back_within_30_days_is_offered_to_the_lawyer_who_kept_the_case(
        running: Running, connect: Connect) -> None:
    """首问负责: a case ended for follow-up brings the same citizen back to the same lawyer,
    ahead of a better-ranked one; another citizen goes by rank."""
    owner = await lawyer(running, connect, "owner", {"labour": 3}, "qz-kecheng")
    first, _ = await running.intake(category="labour", phone="13900000001")
    assert (await owner.wait_for("offer:new"))["case"]["id"] == first
    assert (await owner.call("offer:accept", {"case_id": first}))["ok"]
    assert (await owner.call("case:end", {"case_id": first, "outcome": "follow_up"}))["ok"]
    better = await lawyer(running, connect, "better", {"labour": 5}, "qz-kecheng")
    again, _ = await running.intake(category="labour", phone="13900000001")
    offer = await owner.wait_for("offer:new", lambda o: o["case"]["id"] != first)
    assert offer["case"]["id"] == again
    stranger, _ = await running.intake(category="labour", phone="13900000002")
    assert (await better.wait_for("offer:new"))["case"]["id"] == stranger


async def test_decline_moves_the_offer_to_the_next_lawyer(running: Running, connect: Connect
                                                          ) -> None:
    first = await lawyer(running, connect, "first", {"labour": 5}, "qz-kecheng")
    second = await lawyer(running, connect, "second", {"labour": 4}, "qz-kecheng")
    case_id, _ = await running.intake(category="labour")
    await first.wait_for("offer:new")
    assert (await first.call("offer:decline", {"case_id": case_id}))["ok"]
    offer = await second.wait_for("offer:new")
    assert offer["case"]["id"] == case_id


async def test_missed_offer_expires_and_goes_on(running: Running, connect: Connect) -> None:
    first = await lawyer(running, connect, "first", {"labour": 5}, "qz-kecheng")
    second = await lawyer(running, connect, "second", {"labour": 4}, "qz-kecheng")
    case_id, _ = await running.intake(category="labour")
    await first.wait_for("offer:new")
    expired = await first.wait_for("offer:expired", timeout=10)
    assert expired["case_id"] == case_id
    assert (await second.wait_for("offer:new", timeout=10))["case"]["id"] == case_id
    events = [e.kind for e in await running.cases.events(case_id)]
    assert events[:3] == ["intake", "offered", "missed"]


async def test_overflow_to_a_neighbouring_region(running: Running, connect: Connect) -> None:
    busy = await lawyer(running, connect, "zg", {"labour": 5}, "qz-kecheng")
    neighbour = await lawyer(running, connect, "nk", {"labour": 5}, "qz-qujiang")
    first, _ = await running.intake(category="labour", region="qz-kecheng")
    assert (await busy.wait_for("offer:new"))["case"]["id"] == first
    await busy.call("offer:accept", {"case_id": first})
    second, token = await running.intake(category="labour", region="qz-kecheng")
    citizen = await connect(token)
    assert (await citizen.call("case:resume"))["queue"]["position"] == 1
    # Not offered to the other region at once; after the neighbour delay it is.
    offer = await neighbour.wait_for("offer:new", timeout=10)
    assert offer["case"]["id"] == second
    events = await running.cases.events(second)
    offered_after = (events[1].at - events[0].at).total_seconds()
    assert offered_after >= 2


async def test_transfer_keeps_place_and_reaches_the_named_lawyer(
    running: Running, connect: Connect
) -> None:
    first = await lawyer(running, connect, "first", {"labour": 5}, "qz-kecheng")
    case_id, token = await running.intake(category="labour")
    citizen = await connect(token)
    await first.wait_for("offer:new")
    await first.call("offer:accept", {"case_id": case_id})
    second = await lawyer(running, connect, "second", {"contract": 5}, "qz-jiangshan")
    directory = await first.call("agent:directory")
    target = next(x for x in directory["lawyers"] if x["display_name"] == "second 律师")
    assert (await first.call("case:transfer", {"case_id": case_id, "agent_id": target["id"]}
                             ))["error"]["code"] == "bad_request"  # a note is required
    reply = await first.call("case:transfer", {"case_id": case_id, "agent_id": target["id"],
                                               "category": "contract", "note": "合同问题为主"})
    assert reply["ok"], reply
    await citizen.wait_for("case:transferred")
    offer = await second.wait_for("offer:new", timeout=10)
    assert offer["case"]["id"] == case_id and offer["case"]["category"] == "contract"
    case = await running.cases.get(case_id)
    assert case.status == "waiting" and case.owner_id is not None
    kinds = [e.kind for e in await running.cases.events(case_id)]
    assert "transferred" in kinds


async def test_callback_request_keeps_the_place(running: Running, connect: Connect) -> None:
    await running.intake()
    case_id, token = await running.intake(name="李四")
    citizen = await connect(token)
    view = (await citizen.call("case:resume"))["queue"]
    assert view["position"] == 2 and view["callback_offer"] is True  # nobody on duty
    reply = await citizen.call("queue:callback")
    assert reply["ok"] and reply["queue"]["callback"] is True and reply["queue"]["position"] == 2
    assert (await running.cases.get(case_id)).callback is True


async def test_supervisor_figures_and_alerts(running: Running, connect: Connect) -> None:
    await running.add_lawyer("boss", role="supervisor")
    supervisor = await connect(await running.login("boss"))
    citizen_lawyer = await lawyer(running, connect, "l1", {"labour": 5}, "qz-kecheng")
    assert (await citizen_lawyer.call("agent:availability", {"status": "away"}))["ok"]
    await running.intake(category="labour")
    snapshot = (await supervisor.call("sup:snapshot"))["figures"]
    assert snapshot["totals"]["waiting"] == 1
    assert snapshot["agreements"] == {"overdue": 0, "items": []}
    assert snapshot["agents_by_state"] == {"away": 1}
    # The longest wait passes its 1 s threshold: an alert event and a highlighted queue.
    alert = await supervisor.wait_for(
        "sup:alert", lambda d: any(a["kind"] == "longest_wait" for a in d["alerts"]), timeout=20)
    assert any(a["scope"] == "queue:labour" for a in alert["alerts"])
    figures = await supervisor.wait_for("sup:figures",
                                        lambda f: bool(f["queues"]) and f["queues"][0]["alert"])
    assert figures["queues"][0]["category"] == "labour"
    assert (await citizen_lawyer.call("sup:snapshot"))["error"]["code"] == "forbidden"
    # The same figures for Prometheus.
    status, text = await get_text(running.url, "/metrics")
    assert status == 200
    assert 'parley_queue_waiting_cases{queue="labour"} 1' in text
    assert 'parley_agents{state="away"} 1' in text
    assert 'parley_alerts{kind="longest_wait",scope="queue:labour"} 1' in text
