"""Every low rating is followed up: mediations rated by their parties after the session or the
end, the follow-up recorded on the mediation's timeline, and "my cases" showing each rating
with whether it was followed up."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from server.catalogue import default_catalogue
from server.citizens.api import ACCOUNTS_KEY
from server.db import Database
from server.migrate import upgrade
from server.ratings.repository import RatingRepository
from server.ratings.rules import Reason, Subject, mediation_may_be_rated, needs_follow_up
from server.ratings.service import Ratings
from signaling.app.factory import MEDIATION_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.server.registry.conftest import Window
from tests.server.registry.test_citizen_accounts import Phone
from tests.signaling.mediation.test_mediation import create_case, invite, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_a_mediation_is_rated_after_the_session_the_agreement_or_the_end() -> None:
    assert not mediation_may_be_rated("accepted", ["accepted", "invited", "scheduled"])
    assert mediation_may_be_rated("accepted", ["accepted", "session_opened"])
    assert mediation_may_be_rated("accepted", ["agreement_signed"])
    assert mediation_may_be_rated("failed", [])


async def test_every_low_rating_and_complaint_gets_a_follow_up_with_a_due_date(
        tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/r.db")
    await upgrade(db)
    ratings = Ratings(RatingRepository(db), default_catalogue().calendar, lambda: T0, {})
    rng = random.Random(17)
    expected = set()
    for n in range(60):
        score, complaint = rng.randint(1, 5), rng.random() < 0.15
        subject = f"{n:032x}"
        reasons = [Reason.WAITED_TOO_LONG] if score <= 2 else []
        _, follow_up = await ratings.rate(Subject.CONSULTATION, subject, f"citizen-{subject}",
                                          score, reasons, None, complaint)
        assert (follow_up is not None) == needs_follow_up(score, complaint)
        if needs_follow_up(score, complaint):
            expected.add(subject)
            assert follow_up is not None and follow_up.due.isoformat() == "2026-03-05"
    tasks = await ratings.repository.follow_ups(open_only=True)
    assert {r.subject_id for _, r in tasks} == expected and len(tasks) == len(expected)
    await db.close()


async def test_a_party_rates_the_mediation_and_sees_the_follow_up(
        running: Running, connect: Connect) -> None:
    mediator = await staff(running, "med1", "mediator")
    supervisor = await staff(running, "sup1", "supervisor")
    case_id = await create_case(running, mediator)
    party = await invite(running, mediator, case_id, "applicant", "张三", "123X")
    body = {"subject_kind": "mediation", "subject_id": case_id, "score": 1,
            "reasons": ["attitude", "not_solved"], "comment": "调解员偏向对方"}
    status, reply = await post_json(running.url, "/api/ratings", body, party.token)
    assert status == 403  # nothing happened yet to rate
    status, _ = await post_json(running.url, f"/api/mediations/{case_id}/close",
                                {"outcome": "failed", "reason": "双方分歧过大"}, mediator)
    assert status == 200
    status, _ = await post_json(running.url, "/api/ratings", body, mediator)
    assert status == 403  # the mediator does not rate their own case
    status, reply = await post_json(running.url, "/api/ratings", body, party.token)
    assert status == 201, reply
    assert reply["follow_up"]["due"] and not reply["follow_up"]["done"]

    status, tasks = await get_json(running.url, "/api/follow-ups", supervisor)
    [task] = tasks["follow_ups"]
    assert task["subject_kind"] == "mediation" and task["reasons"] == ["attitude", "not_solved"]
    status, _ = await post_json(running.url, f"/api/follow-ups/{task['follow_up']['id']}",
                                {"note": "电话回访张三：已说明调解员回避规定，可申请更换",
                                 "result": "explained"}, supervisor)
    assert status == 200
    events = await running.app[MEDIATION_KEY].repo.events(case_id)
    assert events[-1].kind == "follow_up" and events[-1].data["result"] == "explained"
    query = f"/api/ratings/mine?subject_kind=mediation&subject_id={case_id}"
    status, mine = await get_json(running.url, query, party.token)
    assert status == 200 and mine["rating"]["follow_up"]["done"] is True
    assert mine["rating"]["follow_up"]["result"] == "explained"


async def test_my_cases_show_each_rating_and_its_follow_up(window: Window) -> None:
    _, centre = await window.staff("aid1", "legal_aid", "qz-kecheng-legal-aid")
    _, supervisor = await window.staff("sup1", "supervisor")
    application, citizen = await window.file()
    refused = await window.act(centre, application, "refuse", reason="不符合条件")
    await window.act(centre, refused, "close_refused")
    status, reply = await post_json(window.url, "/api/ratings", {
        "subject_kind": "application", "subject_id": application["id"], "score": 2,
        "reasons": ["not_understood"], "complaint": True}, citizen)
    assert status == 201, reply
    phone = Phone()
    window.app[ACCOUNTS_KEY]._notifier = phone  # the local fake of the SMS border
    status, _ = await post_json(window.url, "/api/citizen/code", {"phone": "13800138000"})
    assert status == 202
    status, reply = await post_json(window.url, "/api/citizen/sign-in",
                                    {"phone": "13800138000", "code": phone.sent[-1][2]["code"]})
    assert status == 200, reply
    account = reply["token"]
    status, mine = await get_json(window.url, "/api/my/cases", account)
    assert status == 200, mine
    [shown] = mine["applications"]
    assert shown["my_rating"]["score"] == 2 and shown["my_rating"]["follow_up"]["done"] is False
    follow_up_id = shown["my_rating"]["follow_up"]["id"]
    status, _ = await post_json(window.url, f"/api/follow-ups/{follow_up_id}",
                                {"note": "回访：已重新解释拒绝理由和复议途径", "result": "resolved"},
                                supervisor)
    assert status == 200
    status, mine = await get_json(window.url, "/api/my/cases", account)
    done = mine["applications"][0]["my_rating"]["follow_up"]
    assert done["done"] is True and done["result"] == "resolved"
    status, events = await get_json(window.url, f"/api/applications/{application['id']}", citizen)
    assert any(e["kind"] == "follow_up" for e in events.get("timeline", events.get("events", [])))
