"""What the quality-review pages need from REST: a draw over a chosen period, the list with
names, state and the case's recordings, supervisors seeing their region's reviews, and a bad
score named by its checklist item."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from server.clocks.clock import CHINA
from server.quality.sampling import Closed, draw
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]
SCORES = {"greeting": 2, "identity_check": 2, "legal_accuracy": 3, "options_told": 1, "privacy": 2}


async def _ended_case(running: Running, connect: Connect) -> str:
    lawyer = await connect(await running.login("lawyer1"))
    case_id, _ = await running.intake(category="labour")
    await lawyer.wait_for("offer:new")
    assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    return case_id


async def test_period_region_names_and_per_item_errors(running: Running, connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"labour": 5}, display_name="李律师")
    for name, region in (("supa", "qz-kecheng"), ("supb", "qz-kecheng"), ("supc", "far-away")):
        await running.add_lawyer(name, role="supervisor", region=region, display_name=f"{name} 督导")
    tokens = {name: await running.login(name) for name in ("supa", "supb", "supc", "lawyer1")}
    case_id = await _ended_case(running, connect)
    today = datetime.now(UTC).astimezone(CHINA).date()

    # A period the case did not end in draws nothing; a period backwards is refused.
    week_ago = (today - timedelta(days=7)).isoformat()
    status, empty = await post_json(running.url, "/api/quality/samples",
                                    {"n": 3, "seed": 5, "since": week_ago, "until": week_ago},
                                    tokens["supa"])
    assert status == 201 and empty["reviews"] == [] and empty["candidates"] == 0
    status, reply = await post_json(running.url, "/api/quality/samples",
                                    {"n": 3, "since": today.isoformat(), "until": week_ago},
                                    tokens["supa"])
    assert status == 400, reply
    # A supervisor of another region draws among that region's cases: none here.
    status, other = await post_json(running.url, "/api/quality/samples", {"n": 3, "seed": 5},
                                    tokens["supc"])
    assert status == 201 and other["reviews"] == []

    status, sample = await post_json(running.url, "/api/quality/samples",
                                     {"n": 3, "seed": 5, "since": today.isoformat(),
                                      "until": today.isoformat()}, tokens["supa"])
    assert status == 201 and sample["seed"] == 5 and sample["candidates"] == 1
    [drawn] = sample["reviews"]
    assert drawn["case_id"] == case_id and drawn["state"] == "waiting"

    _, listed = await get_json(running.url, "/api/quality/reviews", tokens["supa"])
    [row] = [r for r in listed["reviews"] if r["id"] == drawn["id"]]
    reviewer = row["reviewer_name"].removesuffix(" 督导")
    for name in ("supa", "supb", "supc"):
        status, listed = await get_json(running.url, "/api/quality/reviews", tokens[name])
        assert status == 200
        seen = [r for r in listed["reviews"] if r["id"] == drawn["id"]]
        # Their region's reviews, or one they must do.
        assert bool(seen) == (name != "supc" or reviewer == "supc"), (name, reviewer)
        if seen:
            row = seen[0]
            assert row["handler_name"] == "李律师" and row["region"] == "qz-kecheng"
            assert row["recordings"] == []  # a text consultation has none
            assert row["mine_to_review"] == (name == reviewer)

    review = f"/api/quality/reviews/{drawn['id']}"
    status, reply = await post_json(running.url, review, {"scores": {**SCORES, "privacy": 9}},
                                    tokens[reviewer])
    assert status == 400 and reply["error"]["field"] == "scores.privacy", reply
    missing = {k: v for k, v in SCORES.items() if k != "legal_accuracy"}
    status, reply = await post_json(running.url, review, {"scores": missing}, tokens[reviewer])
    assert status == 400 and reply["error"]["field"] == "scores.legal_accuracy", reply
    status, reply = await post_json(running.url, review, {"scores": {**SCORES, "x": 1}},
                                    tokens[reviewer])
    assert status == 400 and reply["error"]["field"] == "scores", reply
    not_reviewer = next(n for n in ("supa", "supb") if n != reviewer)
    status, _ = await post_json(running.url, review, {"scores": SCORES}, tokens[not_reviewer])
    assert status == 404  # seeing a review of one's region is not being its reviewer
    status, _ = await post_json(running.url, review, {"scores": SCORES, "note": "好"},
                                tokens[reviewer])
    assert status == 200

    status, mine = await get_json(running.url, "/api/quality/reviews", tokens["lawyer1"])
    [row] = mine["reviews"]
    assert row["state"] == "reviewed" and row["mine_to_answer"] and not row["mine_to_review"]
    status, _ = await post_json(running.url, f"{review}/answer", {"answer": "收到"},
                                tokens[not_reviewer])
    assert status == 409  # only the reviewed person answers
    status, _ = await post_json(running.url, f"{review}/answer", {"answer": "收到"},
                                tokens["lawyer1"])
    assert status == 200
    status, listed = await get_json(running.url, "/api/quality/reviews", tokens[reviewer])
    [row] = [r for r in listed["reviews"] if r["id"] == drawn["id"]]
    assert row["state"] == "answered" and row["answer"] == "收到" and row["answered_at"]



async def test_a_drawn_lawyer_may_open_the_recordings_of_the_case(running: Running,
                                                                 connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    await running.add_lawyer("lawyer2")
    await running.add_lawyer("sup1", role="supervisor")
    tokens, ids = {}, {}
    for name in ("lawyer1", "lawyer2", "sup1"):
        status, body = await post_json(running.url, "/api/login",
                                       {"username": name, "password": "correct horse"})
        tokens[name], ids[name] = body["token"], int(body["user"]["id"])
    case_id = await _ended_case(running, connect)
    recordings = f"/api/cases/{case_id}/recordings"
    status, _ = await get_json(running.url, recordings, tokens["lawyer2"])
    assert status == 403  # not their case, not drawn yet

    # The seed that gives the case to lawyer2 (the draw is reproducible from its seed).
    seed = next(s for s in range(100) if draw([Closed(case_id, ids["lawyer1"])],
                                              list(ids.values()), 1, s)[0].reviewer_id
                == ids["lawyer2"])
    status, sample = await post_json(running.url, "/api/quality/samples", {"n": 1, "seed": seed},
                                     tokens["sup1"])
    assert status == 201 and sample["reviews"][0]["reviewer_id"] == ids["lawyer2"]
    status, listed = await get_json(running.url, recordings, tokens["lawyer2"])
    assert status == 200 and listed["recordings"] == []  # a text consultation: allowed, none
    status, mine = await get_json(running.url, "/api/quality/reviews", tokens["lawyer2"])
    [row] = mine["reviews"]
    assert row["mine_to_review"] and not row["about_me"]
