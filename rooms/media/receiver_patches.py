"""Loss resilience for the worker's receivers: small replacements of aiortc receiver parts.

Measured (docs/media.md, DESIGN.md): with 2% loss on audio and video, stock aiortc froze video
for 6 s and more and concealed 9-13% of audio, because
1. a NACKed packet whose retransmission is lost too is never asked for again,
2. the video jitter buffer then holds every later frame until 512 packets pile up, and
3. the audio jitter buffer (prefetch 4) drops and delays Opus packets the browser's own jitter
   buffer would have handled better.
Each class below fixes one of these. Since forwarding went to the RTP level
(``rooms.media.peer``) the worker owns these objects itself: the NACK generator runs on every
video packet, the jitter buffers only where frames are assembled (for the recorder). They
subclass aiortc's, whose internals tests/rooms/test_media_canary.py pins.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from rooms.media.passthrough import ReceiverState, mark_discontinuity

NACK_INTERVAL = 0.1  # re-ask for a missing packet this often...
NACK_GIVE_UP = 0.5   # ...until it is this old (the stall cap has flushed it by then)
MAX_VIDEO_STALL = 0.2  # plus the keyframe round trip, a stall stays under 0.3 s
VIDEO_JITTER_CAPACITY = 512

Clock = Callable[[], float]


def _uint32_gt(a: int, b: int) -> bool:
    half = 1 << 31
    return (a > b and a - b < half) or (a < b and b - a > half)


class ResendingNackGenerator(NackGenerator):
    """aiortc's NACK generator, plus: re-ask for still-missing packets (fix 1).

    The receiver still NACKs new gaps at once through ``add``; ``due`` returns the packets to
    NACK again, every ``NACK_INTERVAL`` until ``NACK_GIVE_UP``, and forgets older ones.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._first_missed: dict[int, float] = {}
        self._last_nacked: dict[int, float] = {}

    def add(self, packet: RtpPacket) -> bool:
        missed = super().add(packet)
        if not missed and not self.missing and not self._first_missed:
            return False  # the usual case, for every packet: nothing missing, nothing to do
        now = self._clock()
        for seq in list(self._first_missed):
            if seq not in self.missing:
                del self._first_missed[seq]
                self._last_nacked.pop(seq, None)
        for seq in self.missing:
            if seq not in self._first_missed:
                # The receiver NACKs new gaps itself right after this call.
                self._first_missed[seq] = now
                self._last_nacked[seq] = now
        return missed

    def due(self, now: float) -> list[int]:
        """Sequence numbers to NACK again now; gives up on the ones missing too long."""
        resend: list[int] = []
        for seq in sorted(self.missing):
            first = self._first_missed.get(seq, now)
            if now - first >= NACK_GIVE_UP:
                self.missing.discard(seq)
                self._first_missed.pop(seq, None)
                self._last_nacked.pop(seq, None)
            elif now - self._last_nacked.get(seq, first) >= NACK_INTERVAL - 1e-3:
                self._last_nacked[seq] = now
                resend.append(seq)
        return resend


class StallCappedJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, but a gap holds frames back for at most ``max_stall``
    (fix 2): then everything buffered is dropped, the publisher is asked for a keyframe and the
    next frame is marked as a discontinuity (the decoder side waits for a keyframe).

    Any other drop by the stock buffer (overflow, large misorder) marks a discontinuity too and
    asks for a keyframe through ``on_picture_loss`` (rate-limited there) instead of a direct PLI.
    """

    def __init__(self, state: ReceiverState, on_picture_loss: Callable[[], None],
                 clock: Clock = time.monotonic, max_stall: float = MAX_VIDEO_STALL) -> None:
        super().__init__(capacity=VIDEO_JITTER_CAPACITY, is_video=True)
        self._state = state
        self._on_picture_loss = on_picture_loss
        self._clock = clock
        self._max_stall = max_stall
        self._max_seq: int | None = None
        self._waiting_since: float | None = None
        self._discontinuity = False

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self._state.media_ssrc = packet.ssrc
        if self._max_seq is None or uint16_gt(packet.sequence_number, self._max_seq):
            self._max_seq = packet.sequence_number
        lost, frame = super().add(packet)
        if lost:
            self._discontinuity = True
            self._on_picture_loss()
        now = self._clock()
        if frame is not None:
            self._waiting_since = None
            if self._discontinuity:
                mark_discontinuity(frame)
                self._discontinuity = False
            return False, frame
        if not self._has_gap_before(packet.sequence_number):
            return False, None
        if self._waiting_since is None:
            self._waiting_since = now
        elif now - self._waiting_since >= self._max_stall:
            self._flush()
            self._on_picture_loss()
        return False, None

    def _has_gap_before(self, sequence_number: int) -> bool:
        if self._origin is None:
            return False
        delta = uint16_add(sequence_number, -self._origin)
        if delta >= self._capacity:
            return False
        return any(self._packets[uint16_add(self._origin, i) % self._capacity] is None
                   for i in range(delta))

    def _flush(self) -> None:
        # Start again after the newest packet seen; older stragglers count as misordered and
        # are dropped, so timestamps never go backwards.
        self._packets = [None] * self._capacity
        assert self._max_seq is not None
        self._origin = uint16_add(self._max_seq, 1)
        self._waiting_since = None
        self._discontinuity = True


class OpusPassThroughBuffer(JitterBuffer):
    """Replaces the audio jitter buffer (fix 3): every Opus packet is one frame, so it is passed
    on at once; duplicates and packets older than the last one passed are dropped, so the
    forwarded timestamps only grow. The browser's jitter buffer and Opus concealment do the
    rest, better than a 4-packet prefetch here."""

    def __init__(self, state: ReceiverState) -> None:
        super().__init__(capacity=1)
        self._state = state
        self._last_timestamp: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self._state.media_ssrc = packet.ssrc
        if self._last_timestamp is not None and not _uint32_gt(packet.timestamp,
                                                               self._last_timestamp):
            return False, None
        self._last_timestamp = packet.timestamp
        data: bytes = packet._data  # type: ignore[attr-defined]  # set by the receiver
        return False, JitterFrame(data=data, timestamp=packet.timestamp)
