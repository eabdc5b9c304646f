"""A phone caller (SIPp for the signalling, this test's socket for the media) and a lawyer
(an aiortc peer connection through the lawyer's socket events, as the agent page does) talk in
the case's room: each hears the other's tone. The caller hangs up mid-session: the case goes on."""

from __future__ import annotations

import asyncio
import fractions
import math
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recordings.policy import CURRENT_NOTICE, PHONE_NOTICE
from recordings.repository import RecordingRepository
from server.config import Settings
from server.keys import DATABASE_KEY
from signaling.keys import PHONE_DESK_KEY
from tests.conftest import Running
from tests.telephony.phone_media import goertzel, open_phone_media
from tests.telephony.sipp import sipp, until

CALLER = "13900139000"
PHONE_HZ, LAWYER_HZ = 440.0, 1000.0


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, hz: float) -> None:
        super().__init__()
        self._hz, self._pts, self._start = hz, 0, 0.0

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._pts == 0:
            self._start = loop.time()
        else:
            await asyncio.sleep(max(0.0, self._start + self._pts / 48000 - loop.time()))
        n = 960
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(b"".join(
            int(8000 * math.sin(2 * math.pi * self._hz * (self._pts + i) / 48000)).to_bytes(
                2, "little", signed=True) for i in range(n)))
        frame.sample_rate, frame.pts, frame.time_base = 48000, self._pts, fractions.Fraction(1, 48000)
        self._pts += n
        return frame


class Lawyer:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTrack(Tone(LAWYER_HZ))
        self.samples: list[int] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._hear(track))))

    async def _hear(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        try:
            while True:
                for frame in resampler.resample(await track.recv()):
                    data = bytes(frame.planes[0])[: frame.samples * 2]
                    self.samples += [int.from_bytes(data[i:i + 2], "little", signed=True)
                                     for i in range(0, len(data), 2)]
                    del self.samples[:-8000]
        except MediaStreamError:
            pass

    def tone_share(self, hz: float) -> float:
        return goertzel(self.samples[-4000:], hz, 8000)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


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
        await asyncio.wait_for(phone.first.wait(), 10)  # the welcome prompt: we know its port
        for digit in "111":  # agree to recording, consultation, Mandarin
            await phone.press(digit)
            await asyncio.sleep(0.3)  # the caller's pace between keys (not synchronisation)
        offer = await agent.wait_for("offer:new", timeout=15)
        case_id = offer["case"]["id"]
        accepted = await agent.call("offer:accept", {"case_id": case_id})
        assert accepted["ok"], accepted
        room_id = accepted["room"]["room_id"]
        tone = asyncio.ensure_future(phone.play_tone(PHONE_HZ))
        await lawyer.pc.setLocalDescription(await lawyer.pc.createOffer())
        reply = await agent.call("rtc:offer", {"room_id": room_id,
                                               "sdp": lawyer.pc.localDescription.sdp})
        assert "sdp" in reply, reply
        await lawyer.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        # The caller agreed by key 1 to the spoken notice; the lawyer agrees on the page.
        consented = await agent.call("recording:consent", {
            "room_id": room_id, "decision": "granted", "version": CURRENT_NOTICE.version})
        assert consented["ok"], consented
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
