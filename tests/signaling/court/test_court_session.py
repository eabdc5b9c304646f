"""The court's confirmation session in a room (docs/agreements.md): a clerk of the application's
court presides over a new room of the mediation case, the parties pass the lobby and are
admitted, and the session's start, end and attendance are stored with the application."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from server.agreements.models import Agreement, AgreementVersion, ConfirmationApplication
from server.mediation.repository import new_id
from signaling.agreements.api import AGREEMENTS_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.server.agreement_samples import content_dict
from tests.signaling.mediation.test_mediation import create_case, invite, lobby, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]
COURT = "qz-kecheng-court"


async def clerk_of(running: Running, username: str, court: str | None) -> str:
    token = await staff(running, username, "clerk")
    if court is not None:
        _, me = await post_json(running.url, "/api/login",
                                {"username": username, "password": "correct horse"})
        await running.app[AGREEMENTS_KEY].repo.set_clerk_court(int(me["user"]["id"]), court)
    return token


async def submitted(running: Running, case_id: str, status: str = "submitted",
                    ids: tuple[str, str, str] = ("a", "r", "m")) -> str:
    """An application as the parties' joint submission leaves it (the signing and the package
    are covered by tests/signaling/agreements/test_agreement.py)."""
    repo = running.app[AGREEMENTS_KEY].repo
    now = datetime.now(UTC)
    agreement = Agreement(id=new_id(), case_id=case_id, status="effective", current_version=1,
                          created_at=now, effective_at=now)
    await repo.add(agreement)
    content = content_dict(*ids)
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    await repo.add(AgreementVersion(
        agreement_id=agreement.id, number=1, content=content, canonical=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(), author_id=ids[2], author_name="med1",
        created_at=now))
    application = ConfirmationApplication(
        id=new_id(), agreement_id=agreement.id, case_id=case_id, version=1, court_code=COURT,
        status=status, proposed_by="x", created_at=now, deadline_at=now + timedelta(days=30),
        confirmations={}, submitted_at=now)
    await repo.add(application)
    return application.id


async def test_clerk_presides_over_confirmation_session(running: Running, connect: Connect
                                                         ) -> None:
    mediator = await staff(running, "med1", "mediator")
    case_id = await create_case(running, mediator)
    applicant = await invite(running, mediator, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, mediator, case_id, "respondent", "李四", "5678")
    # The mediation held its own session, then the case closed settled.
    med = await connect(mediator)
    assert (await med.call("mediation:enter", {"case_id": case_id}))["ok"]
    mediation_room = (await med.call("mediation:resume", {"case_id": case_id}))["room"]["room_id"]
    assert (await med.call("mediation:end", {"case_id": case_id}))["ok"]
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/close",
                                   {"outcome": "settled"}, mediator)
    assert status == 200, body

    clerk = await clerk_of(running, "clerk1", COURT)
    other_clerk = await clerk_of(running, "clerk2", "qz-qujiang-court")
    _, case_view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    app_id = await submitted(running, case_id, ids=(applicant.participant_id,
                                                    respondent.participant_id,
                                                    case_view["self"]["id"]))
    base = f"/api/court/applications/{app_id}"

    # Before the session: a party cannot get into a closed case's room.
    applicant.client = await connect(applicant.token)
    respondent.client = await connect(respondent.token)
    refused = await lobby(applicant, case_id, "张三", "123X")
    assert refused["error"]["code"] == "invalid_state", refused

    status, opened = await post_json(running.url, f"{base}/room", {}, clerk)
    assert status == 200, opened
    room_id = opened["room"]["room_id"]
    assert room_id and room_id != mediation_room
    assert opened["room"]["self"]["role"] == "presiding"
    assert opened["room"]["self"]["lobby"] == "admitted"
    held = opened["application"]["session_room"]
    assert held["room_id"] == room_id and held["started_at"] and held["ended_at"] is None
    invitation = await respondent.client.wait_for("court:session")
    assert invitation["application_id"] == app_id and invitation["room_id"] == room_id

    court = await connect(clerk)
    again = await court.call("mediation:enter", {"case_id": case_id})  # reload: same room
    assert again["ok"] and again["room"]["room_id"] == room_id, again

    # A clerk of another court can neither join nor control; nor can they open the session.
    stranger = await connect(other_clerk)
    for event in ("mediation:enter", "mediation:resume", "mediation:end"):
        reply = await stranger.call(event, {"case_id": case_id})
        assert reply["error"]["code"] == "forbidden", (event, reply)
    status, body = await post_json(running.url, f"{base}/room", {}, other_clerk)
    assert status == 404, body

    # Both parties pass the lobby (identity, consents) and wait; the clerk admits them.
    for party, name, id4 in ((applicant, "张三", "123X"), (respondent, "李四", "5678")):
        reply = await lobby(party, case_id, name, id4)
        assert reply["ok"] and reply["room"]["self"]["lobby"] == "waiting", reply
        assert reply["room"]["room_id"] == room_id
    await court.wait_for("mediation:state", lambda s: sum(
        m["lobby"] == "waiting" for m in s["members"]) == 2)
    # A party cannot control the room.
    reply = await applicant.client.call("mediation:admit", {
        "case_id": case_id, "participant_id": respondent.participant_id})
    assert reply["error"]["code"] == "forbidden", reply
    reply = await stranger.call("mediation:admit", {
        "case_id": case_id, "participant_id": respondent.participant_id})
    assert reply["error"]["code"] == "forbidden", reply
    for party in (applicant, respondent):
        reply = await court.call("mediation:admit", {"case_id": case_id,
                                                      "participant_id": party.participant_id})
        assert reply.get("ok"), reply
        await party.client.wait_for("mediation:state",  # type: ignore[union-attr]
                                    lambda s: s["self"] and s["self"]["lobby"] == "admitted")
    # The presiding clerk mutes like a mediator; chat reaches everyone admitted.
    reply = await court.call("mediation:mute", {"case_id": case_id, "muted": True,
                                                 "participant_id": applicant.participant_id})
    assert reply.get("ok"), reply
    reply = await respondent.client.call("mediation:chat", {"case_id": case_id,
                                                            "text": "自愿申请确认"})
    assert reply.get("ok"), reply
    await court.wait_for("mediation:chat", lambda m: m["text"] == "自愿申请确认")

    status, view = await post_json(running.url, f"{base}/room/end", {}, clerk)
    assert status == 200, view
    held = view["application"]["session_room"]
    assert held["room_id"] == room_id and held["ended_at"]
    assert [(a["role"], a["name"]) for a in held["attended"]] == [
        ("presiding", "clerk1 调解员"), ("applicant", "张三"), ("respondent", "李四")]
    await applicant.client.wait_for("mediation:state", lambda s: s["ended"])
    status, body = await post_json(running.url, f"{base}/room/end", {}, clerk)
    assert status == 409, body

    # The mediation's timeline keeps both rooms apart.
    _, events = await get_json(running.url, f"/api/mediations/{case_id}/timeline", mediator)
    opened_rooms = [e["data"]["room"] for e in events["events"]
                    if e["kind"] == "session_opened"]
    assert opened_rooms == [mediation_room, room_id]
    # Once decided (the decision itself: tests/signaling/agreements/test_agreement.py) the clerk no longer
    # presides over the case.
    await running.app[AGREEMENTS_KEY].repo.update_application(app_id, status="confirmed")
    reply = await court.call("mediation:resume", {"case_id": case_id})
    assert reply["error"]["code"] == "forbidden", reply


async def test_no_session_without_a_submitted_application(running: Running, connect: Connect
                                                          ) -> None:
    mediator = await staff(running, "med1", "mediator")
    case_id = await create_case(running, mediator)
    clerk = await clerk_of(running, "clerk1", COURT)
    app_id = await submitted(running, case_id, status="proposed")
    status, body = await post_json(running.url, f"/api/court/applications/{app_id}/room", {},
                                   clerk)
    assert status == 404, body
    client = await connect(clerk)
    reply = await client.call("mediation:enter", {"case_id": case_id})
    assert reply["error"]["code"] == "forbidden", reply
