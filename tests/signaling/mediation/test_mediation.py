"""Mediation over real python-socketio clients and REST: lobby, admission, caucus privacy of chat
and media, reconnect, refusals, documents, escalation and the hash-chained timeline."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import socketio

from rooms.media.local import LocalMediaWorker
from rooms.messages import ParticipantId, RoomId
from server.mediation.repository import verify_chain
from server.tokens import Claims, sign
from signaling.court.api import COURT_KEY
from signaling.keys import MEDIA_KEY
from signaling.mediation.api import MEDIATION_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.rooms.media_clients import eventually

Connect = Callable[[str | None], Awaitable[SocketClient]]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Party:
    token: str
    participant_id: str
    client: SocketClient | None = None


@dataclass
class Setup:
    case_id: str
    mediator_token: str
    mediator: SocketClient
    applicant: Party
    respondent: Party


async def staff(running: Running, username: str, role: str) -> str:
    await running.add_lawyer(username, role=role, display_name=f"{username} 调解员")
    return await running.login(username)


async def create_case(running: Running, token: str, accept: bool = True) -> str:
    status, body = await post_json(running.url, "/api/mediations", {
        "applicant_name": "张三", "applicant_phone": "13800138000", "respondent_name": "李四",
        "respondent_phone": "13900139000", "category": "neighbour",
        "statement": "楼上漏水，协商赔偿"}, token)
    assert status == 201, body
    case_id: str = body["case"]["id"]
    if accept:
        status, body = await post_json(running.url, f"/api/mediations/{case_id}/accept", {
            "disclosure": "与双方无亲属关系、无利害关系", "conflict_declared": False}, token)
        assert status == 200, body
        assert body["case"]["status"] == "accepted" and body["case"]["deadline_at"]
    return case_id


async def invite_reply(running: Running, token: str, case_id: str, role: str, name: str,
                       id4: str, **extra: Any) -> dict[str, Any]:
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/invitations",
                                   {"role": role, "name": name, "id_last4": id4, **extra}, token)
    assert status == 201, body
    reply: dict[str, Any] = body
    return reply


async def invite(running: Running, token: str, case_id: str, role: str, name: str, id4: str
                 ) -> Party:
    body = await invite_reply(running, token, case_id, role, name, id4)
    # No phone on file: the one-time code is for the mediator to hand over; never a token.
    assert "token" not in body and len(body["code"]) == 8
    assert body["link"].endswith(f"#code={body['code']}")
    status, redeemed = await post_json(running.url, "/api/mediation/join", {"code": body["code"]})
    assert status == 200, redeemed
    return Party(redeemed["token"], body["participant"]["id"])


async def lobby(party: Party, case_id: str, name: str, id4: str) -> dict[str, Any]:
    assert party.client is not None
    return await party.client.call("mediation:lobby", {
        "case_id": case_id, "name": name, "id_last4": id4, "consent_mediation": True,
        "consent_recording": True, "sham_warning_read": True})


@pytest.fixture
async def setup(running: Running, connect: Connect) -> Setup:
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    applicant = await invite(running, token, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, token, case_id, "respondent", "李四", "5678")
    mediator = await connect(token)
    entered = await mediator.call("mediation:enter", {"case_id": case_id})
    assert entered.get("ok"), entered
    assert entered["media_slots"] == 2
    applicant.client = await connect(applicant.token)
    respondent.client = await connect(respondent.token)
    reply = await lobby(applicant, case_id, " 张三 ", "123x")
    assert reply["ok"] and reply["room"]["self"]["lobby"] == "waiting", reply
    assert (await lobby(respondent, case_id, "李四", "5678"))["ok"]
    await mediator.wait_for("mediation:state", lambda s: any(
        m["id"] == respondent.participant_id and m["lobby"] == "waiting" for m in s["members"]))
    for party in (applicant, respondent):
        reply = await mediator.call("mediation:admit", {"case_id": case_id,
                                                        "participant_id": party.participant_id})
        assert reply.get("ok"), reply
        await party.client.wait_for("mediation:state",  # type: ignore[union-attr]
                                    lambda s: s["self"]["lobby"] == "admitted")
    return Setup(case_id, token, mediator, applicant, respondent)


def texts(client: SocketClient) -> str:
    """Everything the client ever received, as one string (to search for leaked words)."""
    return json.dumps(client.events, ensure_ascii=False, default=str)


async def chat(client: SocketClient | None, case_id: str, text: str) -> None:
    assert client is not None
    reply = await client.call("mediation:chat", {"case_id": case_id, "text": text})
    assert reply.get("ok"), reply


async def test_caucus_keeps_chat_and_state_private(setup: Setup, connect: Connect) -> None:
    s = setup
    app_client, resp_client = s.applicant.client, s.respondent.client
    assert app_client is not None and resp_client is not None
    await chat(app_client, s.case_id, "大家好")
    for client in (s.mediator, resp_client):
        await client.wait_for("mediation:chat", lambda m: m["text"] == "大家好")

    reply = await s.mediator.call("mediation:caucus", {"case_id": s.case_id,
                                                       "with_side": "applicant"})
    assert reply["ok"] and reply["room"]["caucus"]["active"], reply
    await resp_client.wait_for("mediation:state", lambda v: v["caucus"]["active"]
                               and not v["caucus"]["with_mediator"])
    await app_client.wait_for("mediation:state", lambda v: v["caucus"]["with_mediator"])

    await chat(s.mediator, s.case_id, "私下说：底线是多少")
    await chat(app_client, s.case_id, "申请人的底线五千")
    await chat(resp_client, s.case_id, "被申请人在等候")
    await app_client.wait_for("mediation:chat", lambda m: m["text"] == "私下说：底线是多少")
    await s.mediator.wait_for("mediation:chat", lambda m: m["text"] == "申请人的底线五千")
    # A reconnect during the caucus returns the respondent to their own group, not the room.
    await resp_client.close()
    again = await connect(s.respondent.token)
    resumed = await again.call("mediation:resume", {"case_id": s.case_id})
    assert resumed["room"]["caucus"]["active"] and not resumed["room"]["caucus"]["with_mediator"]
    history = [m["text"] for m in resumed["chat"]]
    assert history == ["大家好", "被申请人在等候"]
    for client in (resp_client, again):
        leaked = texts(client)
        assert "底线" not in leaked and "五千" not in leaked, "caucus chat reached the respondent"
    for client in (s.mediator, app_client):
        assert "被申请人在等候" not in texts(client)
    # Trying to pull the caucus in through other events changes nothing.
    for event, extra in (("mediation:caucus_end", {}),
                         ("mediation:move", {"participant_id": "x", "group": 0}),
                         ("mediation:admit", {"participant_id": "x"})):
        refused = await again.call(event, {"case_id": s.case_id, **extra})
        assert refused["error"]["code"] == "forbidden", (event, refused)

    assert (await s.mediator.call("mediation:caucus_end", {"case_id": s.case_id}))["ok"]
    await again.wait_for("mediation:state", lambda v: not v["caucus"]["active"])
    await chat(app_client, s.case_id, "回到联合会议")
    await again.wait_for("mediation:chat", lambda m: m["text"] == "回到联合会议")

    # The timeline records every step and its hash chain holds.
    events = await _timeline(setup)
    kinds = [e.kind for e in events]
    for kind in ("created", "accepted", "invited", "consents", "admitted", "caucus_started",
                 "caucus_ended"):
        assert kind in kinds, kind
    assert verify_chain(events)
    events[3].data = {"tampered": True}
    assert not verify_chain(events)


async def _timeline(s: Setup) -> list[Any]:
    return list(await _app(s).repo.events(s.case_id))


_APP: dict[str, Any] = {}


def _app(s: Setup) -> Any:
    return _APP["app"][MEDIATION_KEY]


@pytest.fixture(autouse=True)
def _remember_app(running: Running) -> None:
    _APP["app"] = running.app


async def test_worker_forwards_nothing_across_groups(setup: Setup) -> None:
    """Browsers (in-process aiortc) negotiate through the socket events; during the caucus the
    respondent's forwarding tracks have no source at all, whatever they ask for."""
    from tests.rooms.test_caucus_media import SlotClient

    s = setup
    worker = _APP["app"][MEDIA_KEY]
    room_id = (await s.mediator.call("mediation:resume", {"case_id": s.case_id}))["room"]["room_id"]
    ids = {"med": None, "app": s.applicant.participant_id, "resp": s.respondent.participant_id}
    view = await s.mediator.call("mediation:resume", {"case_id": s.case_id})
    ids["med"] = view["room"]["self"]["id"]
    clients = []
    try:
        for key, sock in (("med", s.mediator), ("app", s.applicant.client),
                          ("resp", s.respondent.client)):
            assert sock is not None
            client = SlotClient(worker, ParticipantId(key))  # the worker is reached via socket
            await client.pc.setLocalDescription(await client.pc.createOffer())
            reply = await sock.call("mediation:offer", {"case_id": s.case_id,
                                                        "sdp": client.pc.localDescription.sdp})
            assert reply.get("ok"), reply
            from aiortc import RTCSessionDescription
            await client.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
            clients.append(client)
        resp = ParticipantId(str(ids["resp"]))
        await eventually(lambda: all(v is not None for v in
                                     worker.forwarding_sources(room_id, resp).values()),
                         "the respondent receives both others")
        slots = await s.respondent.client.wait_for(  # type: ignore[union-attr]
            "mediation:slots", lambda m: all(m["slots"]))
        assert sorted(slots["slots"]) == sorted([ids["med"], ids["app"]])

        await s.mediator.call("mediation:caucus", {"case_id": s.case_id, "with_side": "applicant"})
        sources = worker.forwarding_sources(room_id, resp)
        assert sources and all(v is None for v in sources.values()), sources
        for other in (ids["med"], ids["app"]):
            assert resp not in worker.forwarding_sources(room_id, ParticipantId(str(other))).values()
        await s.respondent.client.wait_for(  # type: ignore[union-attr]
            "mediation:slots", lambda m: m["slots"] == [None, None])
        before = dict(clients[2].frames)
        await eventually(lambda: clients[0].frames[("video", 0)] > 30, "the caucus goes on")
        grown = {k: v - before.get(k, 0) for k, v in clients[2].frames.items()}
        assert all(v <= 3 for v in grown.values()), grown  # at most frames already in flight

        await s.mediator.call("mediation:caucus_end", {"case_id": s.case_id})
        await eventually(lambda: all(v is not None for v in
                                     worker.forwarding_sources(room_id, resp).values()),
                         "the respondent receives again")
    finally:
        for client in clients:
            await client.close()


async def test_refusals(running: Running, connect: Connect) -> None:
    token = await staff(running, "med1", "mediator")
    other_mediator = await staff(running, "med2", "mediator")
    case_id = await create_case(running, token)
    party = await invite(running, token, case_id, "applicant", "张三", "123X")
    bad = await connect(party.token)

    # Wrong identity.
    reply = await bad.call("mediation:lobby", {
        "case_id": case_id, "name": "张三", "id_last4": "9999", "consent_mediation": True,
        "consent_recording": False, "sham_warning_read": True})
    assert reply["error"]["code"] == "credentials_rejected"
    # No consent to online mediation.
    reply = await bad.call("mediation:lobby", {
        "case_id": case_id, "name": "张三", "id_last4": "123X", "consent_mediation": False,
        "consent_recording": False, "sham_warning_read": True})
    assert reply["error"]["code"] == "consent_required"
    # Not admitted yet: no media, no chat, no controls.
    party.client = bad
    assert (await lobby(party, case_id, "张三", "123X"))["ok"]
    for event, payload in (("mediation:offer", {"sdp": "v=0"}), ("mediation:chat", {"text": "hi"}),
                           ("mediation:candidate", {"candidate": {"candidate": ""}})):
        reply = await bad.call(event, {"case_id": case_id, **payload})
        assert reply["error"]["code"] == "not_admitted", (event, reply)
    member = {"participant_id": party.participant_id}
    for event, extra in (("mediation:admit", member), ("mediation:caucus", {}),
                         ("mediation:end", {}), ("mediation:mute", {**member, "muted": True}),
                         ("mediation:enter", {}), ("mediation:recording", {"paused": True})):
        reply = await bad.call(event, {"case_id": case_id, **extra})
        assert reply["error"]["code"] == "forbidden", (event, reply)
    # Another mediator may not run this case.
    intruder = await connect(other_mediator)
    reply = await intruder.call("mediation:admit", {"case_id": case_id,
                                                    "participant_id": party.participant_id})
    assert reply["error"]["code"] == "forbidden"
    status, _ = await get_json(running.url, f"/api/mediations/{case_id}", other_mediator)
    assert status == 403
    # An invitee of one case cannot see another.
    other_case = await create_case(running, token)
    status, body = await get_json(running.url, f"/api/mediations/{other_case}", party.token)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await get_json(running.url, "/api/mediations", party.token)
    assert status == 403

    # Forged and expired invitation tokens are refused at connect; expired codes at redeem.
    forged = party.token[:-4] + ("AAAA" if not party.token.endswith("AAAA") else "BBBB")
    for token_value, code in ((forged, "token_invalid"), (_expired(running, party), "token_expired")):
        client = SocketClient(running.url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(token_value)
        refused = await client.wait_for("connect_error")
        assert refused["data"]["code"] == code
    late = await invite_reply(running, token, case_id, "respondent", "李四", "5678")
    await _APP["app"][MEDIATION_KEY].repo.update_participant(
        late["participant"]["id"], invite_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    status, body = await post_json(running.url, "/api/mediation/join", {"code": late["code"]})
    # Unknown, used or expired: one answer, which says nothing of which it was.
    assert status == 404 and body["error"]["code"] == "invitation_invalid"
    status, body = await post_json(running.url, "/api/mediation/join", {"code": "ZZZZZZZZ"})
    assert status == 404 and body["error"]["code"] == "invitation_invalid"


def _expired(running: Running, party: Party) -> str:
    from server.keys import SETTINGS_KEY

    claims = Claims(sub=party.participant_id, kind="invitee", role="invitee", case="x",
                    name="张三", exp=int(datetime.now(UTC).timestamp()) - 10)
    return sign(claims, running.app[SETTINGS_KEY].secret_key)


async def _upload(running: Running, case_id: str, token: str, data: bytes, name: str
                  ) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
            f"{running.url}/api/mediations/{case_id}/documents?filename={name}", data=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"}
    ) as response:
        return response.status, await response.json()


async def test_documents_are_sniffed_and_capped(running: Running, connect: Connect) -> None:
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    party = await invite(running, token, case_id, "respondent", "李四", "5678")
    status, body = await _upload(running, case_id, party.token, b"MZ\x90\x00 not a pdf", "合同.pdf")
    assert status == 415 and body["error"]["code"] == "unsupported_type"
    status, body = await _upload(running, case_id, party.token, b"", "empty.pdf")
    assert status == 415
    status, body = await _upload(running, case_id, party.token,
                                 b"%PDF-1.4" + b"0" * (10 * 1024 * 1024), "big.pdf")
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    status, body = await _upload(running, case_id, party.token, PNG, "../../照片.png.exe")
    assert status == 201, body
    assert body["content_type"] == "image/png" and body["filename"] == "照片.png.exe"
    doc_id = body["id"]
    async with aiohttp.ClientSession() as session, session.get(
            f"{running.url}/api/mediations/{case_id}/documents/{doc_id}",
            headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert await response.read() == PNG
    status, view = await get_json(running.url, f"/api/mediations/{case_id}", party.token)
    assert status == 200 and [d["id"] for d in view["documents"]] == [doc_id]
    assert "invite_code" not in view["participants"][0], "invitees do not see codes"
    status, view = await get_json(running.url, f"/api/mediations/{case_id}/timeline", token)
    assert "document_uploaded" in [e["kind"] for e in view["events"]]


async def test_escalation_reaches_supervisors_and_refusal_ends_the_case(
        running: Running, connect: Connect) -> None:
    token = await staff(running, "med1", "mediator")
    boss = await staff(running, "boss", "supervisor")
    watcher = await connect(boss)
    case_id = await create_case(running, token)
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/risk",
                                   {"note": "一方扬言报复"}, token)
    assert status == 200 and body["case"]["escalation_risk"]
    alert = await watcher.wait_for("mediation:escalation")
    assert alert["case_id"] == case_id and alert["note"] == "一方扬言报复"
    status, body = await get_json(running.url, "/api/escalations", boss)
    assert status == 200 and [c["id"] for c in body["cases"]] == [case_id]

    party = await invite(running, token, case_id, "respondent", "李四", "5678")
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/respond",
                                   {"decision": "object", "reason": "调解员是对方亲戚"}, party.token)
    assert status == 200 and body["self"]["objection"] == "调解员是对方亲戚"
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/respond",
                                   {"decision": "refuse", "reason": "不愿调解"}, party.token)
    assert status == 200 and body["case"]["status"] == "refused"
    client = await connect(party.token)
    party.client = client
    reply = await lobby(party, case_id, "李四", "5678")
    assert reply["error"]["code"] == "invalid_state"


async def test_failed_case_shows_other_routes_and_schedule_gates_the_room(
        running: Running, connect: Connect) -> None:
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/schedule",
                                   {"at": later}, token)
    assert status == 200 and body["case"]["room_opens_at"]
    party = await invite(running, token, case_id, "applicant", "张三", "123X")
    party.client = await connect(party.token)
    reply = await lobby(party, case_id, "张三", "123X")
    assert reply["error"]["code"] == "room_not_open"
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/close",
                                   {"outcome": "failed", "reason": "双方分歧过大"}, token)
    assert status == 200
    assert body["case"]["other_routes"] == ["arbitration", "administrative", "court"]
    status, body = await post_json(running.url, f"/api/mediations/{case_id}/close",
                                   {"outcome": "settled"}, token)
    assert status == 409


async def test_a_room_moved_to_another_worker_asks_everyone_in_it_to_offer_again(
        setup: Setup, running: Running) -> None:
    """The re-homing callback (a media worker died, rooms/remote.py) reaches the members of a
    mediation room as ``room:renegotiate``, as it does for a consultation's two."""
    resumed = await setup.mediator.call("mediation:resume", {"case_id": setup.case_id})
    room_id = resumed["room"]["room_id"]
    assert room_id
    await running.app[COURT_KEY].room.renegotiate("not-a-room")
    await running.app[COURT_KEY].room.renegotiate(room_id)
    for client in (setup.mediator, setup.applicant.client, setup.respondent.client):
        assert client is not None
        event = await client.wait_for("room:renegotiate")
        assert event == {"room_id": room_id, "case_id": setup.case_id}
        assert len(client.events["room:renegotiate"]) == 1


async def test_a_members_link_falling_back_to_audio_is_told_to_the_room(
        setup: Setup, running: Running) -> None:
    """The media worker's link callback (rooms.media.link) reaches a mediation room's members
    as ``call:link`` naming whose link it is, as it does a consultation's two sides."""
    resumed = await setup.mediator.call("mediation:resume", {"case_id": setup.case_id})
    room_id = resumed["room"]["room_id"]
    worker = running.app[MEDIA_KEY]
    assert isinstance(worker, LocalMediaWorker)
    on_link = worker._on_link
    assert on_link is not None, "the app gives its media worker a link callback"
    await on_link(RoomId("not-a-room"), ParticipantId("someone"), "audio_only")  # ignored
    await on_link(RoomId(room_id), ParticipantId("weak-one"), "audio_only")
    clients = (setup.mediator, setup.applicant.client, setup.respondent.client)
    for client in clients:
        assert client is not None
        event = await client.wait_for("call:link")
        assert event == {"room_id": room_id, "case_id": setup.case_id,
                         "participant_id": "weak-one", "state": "audio_only"}
    await on_link(RoomId(room_id), ParticipantId("weak-one"), "video")
    for client in clients:
        assert client is not None
        await client.wait_for("call:link", lambda e: e["state"] == "video")
        assert [e["state"] for e in client.events["call:link"]] == ["audio_only", "video"]
