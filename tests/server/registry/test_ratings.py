"""Every case is rated and every low rating is followed up (一单一评, 回访)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.server.registry.conftest import Window

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def test_a_low_consultation_rating_opens_a_follow_up_the_citizen_sees_done(
        running: Running, connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    await running.add_lawyer("sup1", role="supervisor")
    lawyer = await connect(await running.login("lawyer1"))
    supervisor_token = await running.login("sup1")
    case_id, citizen_token = await running.intake(category="labour")
    citizen = await connect(citizen_token)
    await lawyer.wait_for("offer:new")
    assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    reply = await citizen.call("case:rate", {"score": 1, "comment": "等了很久也没说清楚",
                                             "reasons": ["waited_too_long", "not_understood"]})
    assert reply["ok"], reply
    bad = await citizen.call("case:rate", {"score": 2, "reasons": ["rude"]})
    assert bad["error"]["code"] in ("bad_request", "already_rated")

    status, open_ = await get_json(running.url, "/api/follow-ups", supervisor_token)
    assert status == 200
    [task] = open_["follow_ups"]
    assert task["subject_id"] == case_id and task["reasons"] == ["waited_too_long", "not_understood"]
    assert task["follow_up"]["due"] and not task["follow_up"]["done"]

    status, mine = await get_json(
        running.url, f"/api/ratings/mine?subject_kind=consultation&subject_id={case_id}", citizen_token)
    assert status == 200 and mine["rating"]["follow_up"]["done"] is False

    status, reply = await post_json(running.url, f"/api/follow-ups/{task['follow_up']['id']}",
                                    {"note": "电话回访：已向当事人解释排队原因并道歉", "result": "explained"},
                                    supervisor_token)
    assert status == 200, reply
    status, _ = await post_json(running.url, f"/api/follow-ups/{task['follow_up']['id']}",
                                    {"note": "x", "result": "resolved"}, supervisor_token)
    assert status == 404
    status, mine = await get_json(
        running.url, f"/api/ratings/mine?subject_kind=consultation&subject_id={case_id}", citizen_token)
    follow_up = mine["rating"]["follow_up"]
    assert follow_up["done"] is True and follow_up["result"] == "explained"
    # Recorded on the case's timeline.
    events = await running.cases.events(case_id)
    assert events[-1].kind == "follow_up" and events[-1].data["result"] == "explained"
    status, open_ = await get_json(running.url, "/api/follow-ups", supervisor_token)
    assert open_["follow_ups"] == []


async def test_a_closed_application_is_rated_by_its_applicant_only(window: Window) -> None:
    _, centre = await window.staff("aid1", "legal_aid", "qz-kecheng-legal-aid")
    _, supervisor = await window.staff("sup1", "supervisor")
    application, citizen = await window.file()
    body = {"subject_kind": "application", "subject_id": application["id"], "score": 5}
    status, reply = await post_json(window.url, "/api/ratings", body, citizen)
    assert status == 403  # still open: rated when it closes
    refused = await window.act(centre, application, "refuse", reason="不符合条件")
    closed = await window.act(centre, refused, "close_refused")
    assert closed["state"] == "closed"
    _, stranger = await window.file(applicant_phone="13900139000")
    status, _ = await post_json(window.url, "/api/ratings", body, stranger)
    assert status == 403
    status, reply = await post_json(window.url, "/api/ratings", {**body, "score": 4}, citizen)
    assert status == 201 and reply["follow_up"] is None  # a good rating needs no follow-up
    status, reply = await post_json(window.url, "/api/ratings", body, citizen)
    assert status == 409 and reply["error"]["code"] == "already_rated"
    status, reply = await post_json(window.url, "/api/ratings",
                                    {**body, "subject_id": "0" * 32, "complaint": True}, citizen)
    assert status == 403
    status, tasks = await get_json(window.url, "/api/follow-ups", supervisor)
    assert tasks["follow_ups"] == []
