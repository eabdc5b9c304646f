"""The caller's audio as an aiortc track: G.711 decoded into 20 ms frames, paced, silence when
nothing came. Used by a mediation phone party (``party.py``), whose several receiving slots still
go through aiortc's own sender and receivers; a consultation call uses ``leg_media.LegMedia``,
which sends and reads the packets itself at about half the CPU (docs/telephony.md)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
from aiortc.codecs.g711 import PcmaDecoder, PcmuDecoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling.telephony.rtp import FRAME

BUFFERED = 10  # 200 ms either way at most; older audio is dropped, not delayed
TIME_BASE = fractions.Fraction(1, 8000)


class CallerVoice(MediaStreamTrack):
    """The caller's audio as aiortc frames, paced at 20 ms (silence when nothing came)."""

    kind = "audio"

    def __init__(self, codec: str) -> None:
        super().__init__()
        self._decoder = PcmuDecoder() if codec == "PCMU" else PcmaDecoder()
        self._silence = b"\xff" * FRAME if codec == "PCMU" else b"\xd5" * FRAME
        self._queue: deque[bytes] = deque(maxlen=BUFFERED)
        self._pts = 0
        self._start: float | None = None

    def feed(self, payload: bytes, _timestamp: int) -> None:
        self._queue.append(payload)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            delay = self._start + self._pts / 8000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        payload = self._queue.popleft() if self._queue else self._silence
        frames = self._decoder.decode(JitterFrame(payload, self._pts))
        frame = frames[0]
        assert isinstance(frame, av.AudioFrame)
        frame.pts, frame.time_base = self._pts, TIME_BASE
        return frame
