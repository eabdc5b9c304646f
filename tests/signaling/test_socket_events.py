"""socket.io integration: real clients against a running server, every refusal included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import socketio

from server.keys import SETTINGS_KEY
from server.tokens import Claims, sign
from signaling.keys import HOTLINE_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]


def error_code(reply: dict[str, object]) -> object:
    error = reply.get("error")
    assert isinstance(error, dict), reply
    return error["code"]


async def matched_pair(running: Running, connect: Connect, mode: str = "video"
                       ) -> tuple[SocketClient, SocketClient, str, str]:
    await running.add_lawyer()
    case_id, citizen_token = await running.intake(mode=mode)
    citizen = await connect(citizen_token)
    lawyer = await connect(await running.login())
    reply = await lawyer.call("queue:take_next")
    assert reply.get("ok"), reply
    return citizen, lawyer, case_id, reply["room"]["room_id"]


async def test_intake_rest_refusals(running: Running) -> None:
    status, body = await post_json(running.url, "/api/intake", {"name": "x"})
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, body = await post_json(running.url, "/api/intake",
                                   {**(await _body()), "phone": "110"})
    assert status == 400 and body["error"]["field"] == "phone"
    status, body = await post_json(running.url, "/api/intake",
                                   {**(await _body()), "category": "unknown"})
    assert status == 400 and body["error"]["field"] == "category"
    status, body = await post_json(running.url, "/api/intake",
                                   {**(await _body()), "description": "x" * 70_000})
    assert status == 413 and body["error"]["code"] == "payload_too_large"


async def _body() -> dict[str, str]:
    from tests.clients import intake_body
    return intake_body()


async def test_login_refusal(running: Running) -> None:
    await running.add_lawyer()
    status, body = await post_json(running.url, "/api/login",
                                   {"username": "lawyer1", "password": "wrong password"})
    assert status == 401 and body["error"]["code"] == "bad_credentials"


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "token_missing"), ("forged.token", "token_invalid"), ("expired", "token_expired")],
)
async def test_connection_refused_without_a_valid_token(
    running: Running, token: str | None, code: str
) -> None:
    if token == "expired":
        token = sign(Claims(sub="1", kind="staff", role="lawyer", exp=1),
                     running.app[SETTINGS_KEY].secret_key)
    client = SocketClient(running.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(token)
    refusal = await client.wait_for("connect_error")
    assert refusal["data"]["code"] == code  # what socket.io-client exposes as err.data


async def test_citizen_waits_with_a_position_and_keeps_it_on_reconnect(
    running: Running, connect: Connect
) -> None:
    _first_id, first_token = await running.intake()
    second_id, second_token = await running.intake(name="李四")
    second = await connect(second_token)
    reply = await second.call("case:resume")
    assert reply["ok"] and reply["queue"]["position"] == 2
    await second.close()
    again = await connect(second_token)  # a reload: same token, same place
    reply = await again.call("case:resume")
    assert reply["case"]["id"] == second_id and reply["queue"]["position"] == 2
    first = await connect(first_token)
    assert (await first.call("queue:leave"))["ok"]
    update = await again.wait_for("queue:update", lambda d: d["position"] == 1)
    assert update["waiting"] == 1
    assert error_code(await first.call("queue:leave")) == "invalid_state"


async def test_a_citizen_who_connects_after_a_tick_gets_the_next_one(
    running: Running, connect: Connect
) -> None:
    """Each process pushes queue positions to its own connections only, so a position pushed
    to nobody is not remembered as pushed: the citizen who connects later still gets it."""
    _case_id, token = await running.intake()
    hotline = running.app[HOTLINE_KEY]
    await hotline.push_queue()  # nobody connected yet
    citizen = await connect(token)
    await hotline.push_queue()
    update = await citizen.wait_for("queue:update")
    assert (update["position"], update["waiting"]) == (1, 1)


async def test_take_next_match_chat_end_and_rate(running: Running, connect: Connect) -> None:
    citizen, lawyer, case_id, room_id = await matched_pair(running, connect, mode="text")
    matched = await citizen.wait_for("case:matched")
    assert matched["room"]["room_id"] == room_id
    assert matched["room"]["self"]["role"] == "citizen"
    assert error_code(await lawyer.call("queue:take_next")) == "agent_busy"
    sent = await citizen.call("chat:send", {"room_id": room_id, "text": "我被拖欠工资"})
    assert sent["ok"] and sent["message"]["sender"]["role"] == "citizen"
    got = await lawyer.wait_for("chat:message", lambda m: m["text"] == "我被拖欠工资")
    assert got["sender"]["name"] == "张三"
    await lawyer.call("chat:send", {"room_id": room_id, "text": "可以申请劳动仲裁"})
    await citizen.wait_for("chat:message", lambda m: m["text"] == "可以申请劳动仲裁")
    assert (await lawyer.call("case:notes", {"case_id": case_id, "notes": "欠薪"}))["ok"]
    assert error_code(await lawyer.call("case:end", {"case_id": case_id, "outcome": "nope"})) \
        == "bad_request"
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    assert error_code(await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"})) \
        == "invalid_state"
    await citizen.wait_for("case:ended")
    assert error_code(await citizen.call("chat:send", {"room_id": room_id, "text": "x"})) \
        == "room_closed"
    assert (await citizen.call("case:rate", {"score": 5, "comment": "耐心"}))["ok"]
    assert error_code(await citizen.call("case:rate", {"score": 4})) == "already_rated"
    case = await running.cases.get(case_id)
    assert (case.status, case.outcome, case.notes, case.rating, case.rating_comment) == (
        "ended", "answered", "欠薪", 5, "耐心")
    assert [m.text for m in await running.cases.chat_for_room(room_id)] == [
        "我被拖欠工资", "可以申请劳动仲裁"]


async def test_queue_empty_and_away(running: Running, connect: Connect) -> None:
    await running.add_lawyer()
    lawyer = await connect(await running.login())
    assert error_code(await lawyer.call("queue:take_next")) == "queue_empty"
    assert (await lawyer.call("agent:availability", {"status": "away"}))["status"] == "away"
    await running.intake()
    assert error_code(await lawyer.call("queue:take_next")) == "agent_away"
    assert error_code(await lawyer.call("agent:availability", {"status": "asleep"})) == "bad_request"


async def test_refusals_by_role_and_membership(running: Running, connect: Connect) -> None:
    citizen, lawyer, case_id, room_id = await matched_pair(running, connect)
    _, other_token = await running.intake(name="王五")
    stranger = await connect(other_token)
    await running.add_lawyer("lawyer2")
    other_lawyer = await connect(await running.login("lawyer2"))
    assert error_code(await citizen.call("queue:take_next")) == "forbidden"
    assert error_code(await lawyer.call("case:rate", {"score": 5})) == "forbidden"
    assert error_code(await stranger.call("chat:send", {"room_id": room_id, "text": "hi"})) \
        == "not_in_room"
    assert error_code(await stranger.call("rtc:offer", {"room_id": room_id, "sdp": "v=0"})) \
        == "not_in_room"
    assert error_code(await other_lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"})) \
        == "forbidden"
    assert error_code(await other_lawyer.call("case:end", {"case_id": "0" * 32, "outcome": "answered"})) \
        == "not_found"
    case = await running.cases.get(case_id)
    assert case.status == "in_consultation"  # the refused end changed nothing
    assert error_code(await other_lawyer.call("case:notes", {"case_id": case_id, "notes": "x"})) \
        == "forbidden"
    status, _ = await get_json(running.url, f"/api/cases/{case_id}", token=other_token)
    assert status == 403


async def test_bad_payloads(running: Running, connect: Connect) -> None:
    citizen, _lawyer, _case_id, room_id = await matched_pair(running, connect)
    assert error_code(await citizen.call("chat:send", {"room_id": room_id, "text": ""})) \
        == "bad_request"
    assert error_code(await citizen.call("chat:send", {"room_id": room_id, "text": "x" * 2001})) \
        == "bad_request"
    assert error_code(await citizen.call("chat:send", {"room_id": room_id, "text": "x" * 70_000})) \
        == "payload_too_large"
    assert error_code(await citizen.call("chat:send", "not an object")) == "bad_request"
    assert error_code(await citizen.call("chat:send", {"room_id": room_id, "text": "x", "as": "lawyer"})) \
        == "bad_request"
    assert error_code(await citizen.call("no:such:event", {})) == "bad_request"


async def test_malformed_negotiation_and_out_of_order(running: Running, connect: Connect) -> None:
    citizen, _lawyer, _case_id, room_id = await matched_pair(running, connect)
    assert error_code(await citizen.call("rtc:offer", {"room_id": room_id, "sdp": "not sdp"})) \
        == "bad_sdp"
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 50000 typ host", "sdpMid": "0",
                 "sdpMLineIndex": 0}
    assert error_code(await citizen.call("rtc:candidate", {"room_id": room_id,
                                                           "candidate": candidate})) == "no_offer"
    garbage = {**candidate, "candidate": "candidate:garbage"}
    assert error_code(await citizen.call("rtc:candidate", {"room_id": room_id,
                                                           "candidate": garbage})) \
        in ("bad_candidate", "no_offer")
    assert error_code(await citizen.call("rtc:answer", {"room_id": room_id, "sdp": "v=0"})) \
        == "no_pending_offer"


async def test_text_consultation_has_no_media(running: Running, connect: Connect) -> None:
    citizen, _, _, room_id = await matched_pair(running, connect, mode="text")
    assert error_code(await citizen.call("rtc:offer", {"room_id": room_id, "sdp": "v=0"})) \
        == "media_unavailable"
