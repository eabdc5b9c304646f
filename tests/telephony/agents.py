"""A simulated lawyer's browser for the phone tests and bench/phone.py: an aiortc peer
connection that sends a 1 kHz tone and measures what it hears."""

from __future__ import annotations

import asyncio
import fractions
import math
from array import array
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from recordings.policy import CURRENT_NOTICE
from tests.clients import SocketClient
from tests.telephony.phone_media import goertzel

LAWYER_HZ = 1000.0


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, hz: float) -> None:
        super().__init__()
        self._hz, self._pts, self._start = hz, 0, 0.0
        # One second of the tone, computed once (a whole number of periods for 1 kHz, 440 Hz).
        self._second = array("h", (int(8000 * math.sin(2 * math.pi * hz * i / 48000))
                                   for i in range(48000))).tobytes()

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._pts == 0:
            self._start = loop.time()
        else:
            await asyncio.sleep(max(0.0, self._start + self._pts / 48000 - loop.time()))
        n = 960
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        offset = 2 * (self._pts % 48000)
        frame.planes[0].update(self._second[offset:offset + 2 * n])
        frame.sample_rate, frame.pts, frame.time_base = 48000, self._pts, fractions.Fraction(1, 48000)
        self._pts += n
        return frame


async def take_offer(agent: SocketClient) -> dict[str, Any]:
    """The lawyer answers the next offer: the accept's reply (its ``case`` and ``room``)."""
    offer = await agent.wait_for("offer:new", timeout=15)
    accepted = await agent.call("offer:accept", {"case_id": offer["case"]["id"]})
    assert accepted["ok"], accepted
    return accepted


class Lawyer:
    def __init__(self, hz: float = LAWYER_HZ) -> None:
        self.pc = RTCPeerConnection()
        self.frames = 0  # audio frames received
        self.pc.addTrack(Tone(hz))
        self.samples: list[int] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._hear(track))))

    async def join(self, agent: SocketClient, room_id: str) -> None:
        """Negotiate into the room as the lawyer's page does, and agree to its recording."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await agent.call("rtc:offer", {"room_id": room_id,
                                               "sdp": self.pc.localDescription.sdp})
        assert "sdp" in reply, reply
        await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        consented = await agent.call("recording:consent", {
            "room_id": room_id, "decision": "granted", "version": CURRENT_NOTICE.version})
        assert consented["ok"], consented

    async def _hear(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        try:
            while True:
                received = await track.recv()
                self.frames += 1
                for frame in resampler.resample(received):
                    pcm = array("h", bytes(frame.planes[0])[: frame.samples * 2])
                    self.samples.extend(pcm)
                    del self.samples[:-8000]
        except MediaStreamError:
            pass

    def tone_share(self, hz: float) -> float:
        return goertzel(self.samples[-4000:], hz, 8000)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
