"""A phone caller (SIPp for the signalling, this test's socket for the media) and a lawyer
(an aiortc peer connection through the lawyer's socket events, as the agent page does) talk in
the case's room: each hears the other's tone. The caller hangs up mid-session: the case goes on."""

from __future__ import annotations

import asyncio
from typing import Any

from recordings.policy import PHONE_NOTICE
from recordings.repository import RecordingRepository
from server.config import Settings
from server.keys import DATABASE_KEY
from signaling.keys import PHONE_DESK_KEY
from tests.conftest import Running
from tests.telephony.agents import LAWYER_HZ, Lawyer, take_offer
from tests.telephony.phone_media import open_phone_media
from tests.telephony.sipp import sipp, until

CALLER = "13900139000"
PHONE_HZ = 440.0


async def test_a_phone_caller_and_a_lawyer_hear_each_other(
        settings: Settings, running: Running, connect: Any) -> None:
    assert settings.sip is not None
    await running.add_lawyer("lawyer1", skills={"other": 3}, region="qz-kecheng")
    agent = await connect(await running.login("lawyer1"))
    phone = await open_phone_media()
    lawyer = Lawyer()
    caller = await sipp("uac_call.xml", (settings.sip.host, settings.sip.port), hold_ms=12000,
                        keys={"caller": CALLER, "rtp_port": str(phone.port)})
    tone: asyncio.Task[None] | None = None
    try:
        await phone.key_menu()  # agree to recording, consultation, Mandarin
        accepted = await take_offer(agent)
        case_id, room_id = accepted["case"]["id"], accepted["room"]["room_id"]
        tone = asyncio.ensure_future(phone.play_tone(PHONE_HZ))
        # The caller agreed by key 1 to the spoken notice; the lawyer agrees on the page.
        await lawyer.join(agent, room_id)
        repo = RecordingRepository(running.app[DATABASE_KEY])

        async def callers_consent() -> Any:
            ledger = {c.participant_id: c for c in await repo.consents(case_id)}
            return ledger.get(f"citizen-{case_id}")

        mine = await until(callers_consent, what="the caller's consent in the ledger")
        assert (mine.decision, mine.text_version) == ("granted", PHONE_NOTICE.version)
        assert "同意录音请按1" in mine.text_shown
        recording = await until(lambda: _recording(repo, case_id), what="the recording to start")

        async def lawyer_hears() -> bool | None:
            return True if lawyer.tone_share(PHONE_HZ) > 0.5 else None

        async def phone_hears() -> bool | None:
            return True if phone.tone_share(LAWYER_HZ) > 0.5 else None

        await until(lawyer_hears, what="the lawyer to hear the caller's 440 Hz")
        await until(phone_hears, what="the caller to hear the lawyer's 1 kHz")
        # The caller hangs up (SIPp's BYE after -d): the case stays in consultation.
        code, out = await caller.finished(30)
        assert code == 0, out
        desk = running.app[PHONE_DESK_KEY]
        await until(lambda: _gone(desk, case_id), what="the phone call to end")
        case = await running.cases.get(case_id)
        assert case is not None and case.status == "in_consultation"
        left = await agent.wait_for("room:peer", lambda p: p["event"] == "left")
        assert left["peer"]["role"] == "citizen"
        marks = [e.data for e in await repo.entries(recording.id) if e.kind == "left"]
        assert marks and marks[-1]["channel"] == "phone" and marks[-1]["reason"] == "caller"
        assert (await repo.get(recording.id)).status == "recording"  # the lawyer is still on
    finally:
        if tone is not None:
            tone.cancel()
        caller.stop()
        phone.close()
        await lawyer.close()


async def _recording(repo: RecordingRepository, case_id: str) -> Any:
    found = [r for r in await repo.for_case(case_id) if r.status == "recording"]
    return found[0] if found else None


async def _gone(desk: Any, case_id: str) -> bool | None:
    return True if case_id not in desk.calls else None


async def test_the_caller_rates_by_key_after_the_lawyer_ends_the_case(
        settings: Settings, running: Running, connect: Any) -> None:
    assert settings.sip is not None
    await running.add_lawyer("lawyer1", skills={"other": 3}, region="qz-kecheng")
    agent = await connect(await running.login("lawyer1"))
    phone = await open_phone_media()
    caller = await sipp("uac_call.xml", (settings.sip.host, settings.sip.port), hold_ms=30000,
                        keys={"caller": CALLER, "rtp_port": str(phone.port)})
    try:
        await phone.key_menu()  # agree to recording, consultation, Mandarin
        case_id = (await take_offer(agent))["case"]["id"]
        await agent.wait_for("room:peer", lambda p: p["event"] == "joined", timeout=15)
        assert (await agent.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
        await phone.press("4")
        rated = await until(lambda: _rating(running, case_id), what="the caller's rating")
        assert rated == 4
        desk = running.app[PHONE_DESK_KEY]
        await until(lambda: _gone(desk, case_id), what="the desk to say goodbye and hang up")
    finally:
        caller.stop()
        phone.close()


async def _rating(running: Running, case_id: str) -> int | None:
    case = await running.cases.get(case_id)
    return case.rating if case is not None else None


async def test_a_transferred_caller_waits_again_and_is_put_through_to_the_next_lawyer(
        settings: Settings, running: Running, connect: Any) -> None:
    assert settings.sip is not None
    await running.add_lawyer("first", skills={"other": 3}, region="qz-kecheng")
    first = await connect(await running.login("first"))
    phone = await open_phone_media()
    caller = await sipp("uac_call.xml", (settings.sip.host, settings.sip.port), hold_ms=30000,
                        keys={"caller": CALLER, "rtp_port": str(phone.port)})
    try:
        await phone.key_menu()  # agree to recording, consultation, Mandarin
        case_id = (await take_offer(first))["case"]["id"]
        await first.wait_for("room:peer", lambda p: p["event"] == "joined", timeout=15)
        await running.add_lawyer("second", skills={"contract": 3}, region="qz-kecheng")
        second = await connect(await running.login("second"))
        directory = await first.call("agent:directory")
        target = next(x for x in directory["lawyers"] if x["display_name"] == "second 律师")
        reply = await first.call("case:transfer", {"case_id": case_id, "agent_id": target["id"],
                                                   "category": "contract", "note": "合同问题"})
        assert reply["ok"], reply
        assert (await second.wait_for("offer:new", timeout=15))["case"]["id"] == case_id
        assert (await second.call("offer:accept", {"case_id": case_id}))["ok"]
        joined = await second.wait_for("room:peer", lambda p: p["event"] == "joined", timeout=15)
        assert joined["peer"]["role"] == "citizen"  # the same call, in the new room
        assert running.app[PHONE_DESK_KEY].calls[case_id].matched.is_set()
    finally:
        caller.stop()
        phone.close()
