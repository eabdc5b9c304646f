"""A lawyer's 转人民调解 files a draft mediation application the citizen completes and confirms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def test_a_consultation_handed_to_mediation_reaches_the_committee_once_confirmed(
        running: Running, connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"neighbour": 5})
    lawyer = await connect(await running.login("lawyer1"))
    case_id, citizen_token = await running.intake(category="neighbour", description="邻居违建挡光")
    citizen = await connect(citizen_token)
    await lawyer.wait_for("offer:new")
    assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "referred_mediation"}))["ok"]
    ended = await citizen.wait_for("case:ended")
    referral = ended["referral"]
    assert referral["item"] == "mediation" and "调〔" in referral["number"]

    # The citizen sees the draft, prefilled from the consultation, with their consultation token.
    status, draft = await get_json(running.url, f"/api/applications/{referral['application_id']}",
                                   citizen_token)
    assert status == 200, draft
    assert draft["state"] == "draft" and draft["statement"] == "邻居违建挡光"
    assert draft["filed_as"] == "lawyer" and draft["actions"] == ["confirm", "withdraw"]
    # Confirming needs the other party; then the committee receives it and its clock starts.
    status, reply = await post_json(running.url, f"/api/applications/{draft['id']}/actions/confirm",
                                    {"version": draft["version"]}, citizen_token)
    assert status == 400 and reply["error"]["field"] == "respondent_name"
    status, reply = await post_json(
        running.url, f"/api/applications/{draft['id']}/actions/confirm",
        {"version": draft["version"], "respondent_name": "王五", "respondent_phone": "13700137000"},
        citizen_token)
    assert status == 200, reply
    confirmed = reply["application"]
    assert confirmed["state"] == "received" and confirmed["respondent"]["name"] == "王五"
    assert [c["code"] for c in confirmed["clocks"]] == ["acceptance"]
