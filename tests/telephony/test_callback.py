"""Callbacks dialled by the server through the trunk (SIPp as the trunk, with digest auth):
answered and put through to the lawyer; busy, retried by the rules, then given up. Every
attempt is a case event; SIPp fails the run unless each 407 and 486 was ACKed (RFC 3261
§17.1.1.3, which aiosipua alone does not do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from signaling.keys import PHONE_DESK_KEY
from signaling.telephony.callbacks import Outcome, RetryRule
from tests.conftest import Running
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port, sipp, until
from tests.telephony.voices import HUMAN, MACHINE, beep, silence, speech, write_pcap

CITIZEN = "13600136000"


@pytest.fixture
def trunk_port() -> int:
    return free_udp_port(range(SIP_PORTS.stop - 1, SIP_PORTS.start, -1))


@pytest.fixture
def settings(tmp_path: Path, trunk_port: int) -> Settings:
    port = free_udp_port(SIP_PORTS, {trunk_port})
    return Settings.from_env({
        "PARLEY_DATA_DIR": str(tmp_path / "var"), "PARLEY_SIP_LISTEN": f"127.0.0.1:{port}",
        "PARLEY_SIP_RTP_PORTS": RTP_PORTS, "PARLEY_WRAP_UP_S": "0",
        "PARLEY_SIP_TRUNK": f"127.0.0.1:{trunk_port}", "PARLEY_SIP_USER": "parley",
        "PARLEY_SIP_PASSWORD": "s3cret-trunk",
    })


async def _callback_case(running: Running, connect: Any) -> tuple[str, Any]:
    """A citizen asks for a callback; then a lawyer comes on duty and accepts it."""
    case_id, token = await running.intake(category="labour", phone=CITIZEN)
    citizen = await connect(token)
    assert (await citizen.call("queue:callback"))["ok"]
    await running.add_lawyer("lawyer1", skills={"labour": 3}, region="qz-kecheng")
    agent = await connect(await running.login("lawyer1"))
    offer = await agent.wait_for("offer:new", timeout=15)
    assert offer["case"]["id"] == case_id
    assert (await agent.call("offer:accept", {"case_id": case_id}))["ok"]
    return case_id, agent


async def _events(running: Running, case_id: str, kind: str, n: int) -> list[Any] | None:
    found = [e.data for e in await running.cases.events(case_id) if e.kind == kind]
    return found if len(found) >= n else None


async def test_an_answered_callback_is_put_through_to_the_lawyer(
        settings: Settings, running: Running, connect: Any, trunk_port: int) -> None:
    trunk = await sipp("uas_trunk.xml", None, port=trunk_port, hold_ms=15000,
                       keys={"password": "s3cret-trunk"})
    try:
        case_id, agent = await _callback_case(running, connect)
        dialled = await until(lambda: _events(running, case_id, "callback_dialled", 1),
                              what="the callback attempt recorded")
        # The callee pressed a key while Parley listened for a machine: a person.
        assert dialled[0] == {"attempt": 1, "outcome": "answered", "status": 200,
                              "detection": "key"}
        joined = await agent.wait_for("room:peer", lambda p: p["event"] == "joined", timeout=15)
        assert joined["peer"]["role"] == "citizen"  # the callee, in the lawyer's room
        code, out = await trunk.finished(30)
        assert code == 0, out
    finally:
        trunk.stop()


async def test_a_busy_callee_is_tried_again_by_the_rules_then_given_up(
        settings: Settings, running: Running, connect: Any, trunk_port: int) -> None:
    running.app[PHONE_DESK_KEY].retry_rules[Outcome.BUSY] = RetryRule(attempts=2, after_s=0.5)
    trunk = await sipp("uas_busy.xml", None, port=trunk_port, calls=2,
                       keys={"password": "s3cret-trunk"})
    try:
        case_id, _agent = await _callback_case(running, connect)
        gave_up = await until(lambda: _events(running, case_id, "callback_gave_up", 1),
                              what="the callback given up")
        assert gave_up == [{"attempts": 2, "outcome": "busy"}]
        dialled = await _events(running, case_id, "callback_dialled", 2)
        assert dialled == [{"attempt": 1, "outcome": "busy", "status": 486},
                           {"attempt": 2, "outcome": "busy", "status": 486}]
        code, out = await trunk.finished(30)
        assert code == 0, out  # both 407s and both 486s were ACKed
    finally:
        trunk.stop()


async def test_a_person_who_says_hello_then_waits_is_put_through(
        settings: Settings, running: Running, connect: Any, trunk_port: int,
        tmp_path: Path) -> None:
    # 喂? then silence; at 3 s (after Parley decided, during its greeting) key 1 to the notice.
    pcap = write_pcap(tmp_path / "hello.pcap", silence(0.3) + speech(HUMAN) + silence(6),
                      key=(3.0, "1"))
    callee = await sipp("uas_answer_audio.xml", None, port=trunk_port, keys={"pcap": str(pcap)})
    try:
        case_id, agent = await _callback_case(running, connect)
        dialled = await until(lambda: _events(running, case_id, "callback_dialled", 1),
                              what="the callback attempt recorded")
        assert dialled[0] == {"attempt": 1, "outcome": "answered", "status": 200,
                              "detection": "short_greeting"}
        joined = await agent.wait_for("room:peer", lambda p: p["event"] == "joined", timeout=20)
        assert joined["peer"]["role"] == "citizen"
    finally:
        callee.stop()


async def test_an_answering_machine_is_voicemail_hung_up_and_retried_by_its_rule(
        settings: Settings, running: Running, connect: Any, trunk_port: int,
        tmp_path: Path) -> None:
    running.app[PHONE_DESK_KEY].retry_rules[Outcome.VOICEMAIL] = RetryRule(attempts=2,
                                                                             after_s=0.5)
    pcap = write_pcap(tmp_path / "greeting.pcap", silence(0.3) + speech(MACHINE) + beep())
    callee = await sipp("uas_answer_audio.xml", None, port=trunk_port, calls=2,
                        keys={"pcap": str(pcap)})
    try:
        case_id, _agent = await _callback_case(running, connect)
        gave_up = await until(lambda: _events(running, case_id, "callback_gave_up", 1),
                              timeout=30, what="the callback given up")
        assert gave_up == [{"attempts": 2, "outcome": "voicemail"}]
        dialled = await _events(running, case_id, "callback_dialled", 2)
        assert dialled is not None
        assert [(d["attempt"], d["outcome"], d["detection"]) for d in dialled] == [
            (1, "voicemail", "long_greeting"), (2, "voicemail", "long_greeting")]
        assert all(d["speech_s"] >= 1.0 for d in dialled)
        code, out = await callee.finished(30)
        assert code == 0, out  # both calls hung up by Parley (BYE)
    finally:
        callee.stop()
