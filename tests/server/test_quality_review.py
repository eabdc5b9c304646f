"""Quality review over REST: a supervisor draws closed consultations at random, the reviewer
scores one on the checklist, the reviewed lawyer sees it and answers once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]
SCORES = {"greeting": 2, "identity_check": 2, "legal_accuracy": 3, "options_told": 1, "privacy": 2}


async def test_draw_review_and_answer(running: Running, connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    await running.add_lawyer("sup1", role="supervisor")
    lawyer_token = await running.login("lawyer1")
    supervisor = await running.login("sup1")
    lawyer = await connect(lawyer_token)
    case_id, _ = await running.intake(category="labour")
    await lawyer.wait_for("offer:new")
    assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]

    status, sample = await post_json(running.url, "/api/quality/samples", {"n": 5, "seed": 42},
                                     supervisor)
    assert status == 201, sample
    [review] = sample["reviews"]
    # Never one's own case: the only other eligible reviewer is the supervisor.
    assert review["case_id"] == case_id and review["reviewer_id"] != review["handler_id"]
    status, _ = await post_json(running.url, "/api/quality/samples", {"n": 5}, lawyer_token)
    assert status == 403

    status, reply = await post_json(running.url, f"/api/quality/reviews/{review['id']}/answer",
                                    {"answer": "x"}, lawyer_token)
    assert status == 409  # nothing to answer before the review
    status, reply = await post_json(running.url, f"/api/quality/reviews/{review['id']}",
                                    {"scores": {**SCORES, "privacy": 9}}, supervisor)
    assert status == 400 and reply["error"]["field"] == "scores.privacy"
    status, reply = await post_json(running.url, f"/api/quality/reviews/{review['id']}",
                                    {"scores": SCORES, "note": "未告知调解途径"}, lawyer_token)
    assert status == 404  # the reviewed may not review themselves
    status, reply = await post_json(running.url, f"/api/quality/reviews/{review['id']}",
                                    {"scores": SCORES, "note": "未告知调解途径"}, supervisor)
    assert status == 200, reply

    status, mine = await get_json(running.url, "/api/quality/reviews", lawyer_token)
    assert status == 200
    [seen] = mine["reviews"]
    assert seen["total"] == 10 and seen["max"] == 12 and seen["note"] == "未告知调解途径"
    assert not seen["mine_to_review"]
    status, _ = await post_json(running.url, f"/api/quality/reviews/{review['id']}/answer",
                                {"answer": "已在回访中补充告知"}, lawyer_token)
    assert status == 200
    status, _ = await post_json(running.url, f"/api/quality/reviews/{review['id']}/answer",
                                {"answer": "again"}, lawyer_token)
    assert status == 409
