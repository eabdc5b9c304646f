"""A real SIPp caller rings the phone line, keys through the menu by RFC 4733 and is queued in
the routing engine like a web intake; hanging up while waiting leaves the queue; a caller who
had a case is offered to its lawyer first (首问负责) and is put through when they accept."""

from __future__ import annotations

from typing import Any

from server.config import Settings
from signaling.keys import ENGINE_KEY, PHONE_DESK_KEY
from tests.conftest import Running
from tests.telephony.sipp import sipp, until

CALLER = "13800138000"


async def _phone_case(running: Running, phone: str) -> Any:
    for task in await running.app[ENGINE_KEY].tasks():
        case = await running.cases.get(task.task_id)
        if case is not None and case.citizen_phone == phone:
            return case
    return None


async def _status(running: Running, case_id: str, status: str) -> bool | None:
    case = await running.cases.get(case_id)
    return True if case is not None and case.status == status else None


async def test_a_caller_keys_through_the_menu_and_waits_in_the_queue(
        settings: Settings, running: Running) -> None:
    assert settings.sip is not None
    caller = await sipp("uac_ivr.xml", (settings.sip.host, settings.sip.port), hold_ms=3000,
                        keys={"caller": CALLER})
    try:
        case = await until(lambda: _phone_case(running, CALLER), what="the call's case queued")
        assert (case.service_type, case.language, case.mode) == ("consultation", "zh", "audio")
        assert case.status == "waiting" and case.citizen_name == "来电 8000"
        code, out = await caller.finished()
        assert code == 0, out
        assert await until(lambda: _status(running, case.id, "abandoned"),
                           what="the case abandoned after the caller hung up")
    finally:
        caller.stop()


async def test_a_caller_back_is_offered_to_their_lawyer_and_put_through(
        settings: Settings, running: Running, connect: Any) -> None:
    assert settings.sip is not None
    await running.add_lawyer("owner", skills={"labour": 3, "other": 1}, region="qz-kecheng")
    owner = await connect(await running.login("owner"))
    first, _ = await running.intake(category="labour", phone=CALLER)
    assert (await owner.wait_for("offer:new"))["case"]["id"] == first
    assert (await owner.call("offer:accept", {"case_id": first}))["ok"]
    assert (await owner.call("case:end", {"case_id": first, "outcome": "follow_up"}))["ok"]
    await running.add_lawyer("better", skills={"other": 5, "labour": 5}, region="qz-kecheng")
    await connect(await running.login("better"))

    caller = await sipp("uac_ivr.xml", (settings.sip.host, settings.sip.port), hold_ms=6000,
                        keys={"caller": CALLER})
    try:
        phone_case = (await until(lambda: _phone_case(running, CALLER), what="queued")).id
        task = await running.app[ENGINE_KEY].task(phone_case)
        assert task is not None and task.preferred_agent is not None
        offer = await owner.wait_for("offer:new", lambda o: o["case"]["id"] != first, timeout=15)
        assert offer["case"]["id"] == phone_case
        assert (await owner.call("offer:accept", {"case_id": phone_case}))["ok"]
        desk = running.app[PHONE_DESK_KEY]
        assert desk.calls[phone_case].matched.is_set()
        code, out = await caller.finished()
        assert code == 0, out
        # The caller hung up in the consultation: the case stays the lawyer's, not abandoned.
        await until(lambda: _gone(desk, phone_case), what="the call to end")
        assert (await running.cases.get(phone_case)).status == "in_consultation"
    finally:
        caller.stop()


async def _gone(desk: Any, case_id: str) -> bool | None:
    return True if case_id not in desk.calls else None
