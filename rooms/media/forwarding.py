"""The track a worker's sender reads: one per subscriber and kind, with a swappable source.

aiortc's sender stops for good when its track raises ``MediaStreamError``, and the browser
cannot follow a jump in RTP timestamps or a gap in VP8 frames (the sender rewrites picture
IDs, so the browser cannot see the gap). So this track
- never raises ``MediaStreamError`` while it is live: when its source ends it waits for the
  next one (``attach``);
- keeps its timestamps continuous across sources: a new source starts where the last one
  left off, advanced by the wall-clock time in between;
- after each attach drops video until a keyframe, asking the publisher for one at once and
  every ``KEYFRAME_RETRY`` seconds until it comes;
- passes a subscriber's keyframe request (PLI) on to the current publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame

from rooms.media.counters import MediaCounters

KEYFRAME_RETRY = 0.3
_FRAME_RATE = {"video": 30, "audio": 50}  # default step when a source changes: one frame

Media: TypeAlias = "av.Packet[Any] | Frame"


class KeyframeSource(Protocol):
    """The publishing side of a forwarding track."""

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (rate-limited by the implementation)."""


class ForwardingTrack(MediaStreamTrack):
    """Yields the current source's encoded packets, re-timed onto one continuous timeline."""

    def __init__(self, kind: str, counters: MediaCounters,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.kind = kind
        self._counters = counters
        self._clock = clock
        self._queue: asyncio.Queue[tuple[int, Media | None]] = asyncio.Queue()
        self._generation = 0
        self._pump: asyncio.Task[None] | None = None
        self._source: MediaStreamTrack | None = None
        self._publisher: KeyframeSource | None = None
        self._offset: int | None = None
        self._last_pts: int | None = None
        self._last_wall = 0.0
        self._awaiting_keyframe = kind == "video"
        self._last_request = float("-inf")

    @property
    def publisher(self) -> KeyframeSource | None:
        return self._publisher

    def attach(self, source: MediaStreamTrack | None, publisher: KeyframeSource | None) -> None:
        """Forward ``source`` from now on (None: forward nothing); the old source is stopped."""
        self._detach()
        if source is None or self.readyState != "live":
            return
        self._source = source
        self._publisher = publisher
        self._pump = asyncio.ensure_future(self._run_pump(source, self._generation))
        if self.kind == "video":
            self._awaiting_keyframe = True
            self._ask_keyframe(self._clock())

    def request_keyframe(self) -> None:
        """A subscriber's PLI/FIR: the sender's keyframe hook calls this."""
        if self._publisher is not None:
            self._publisher.request_keyframe()

    def stop(self) -> None:
        if self.readyState == "live":
            self._detach()
            self._queue.put_nowait((-1, None))  # wake a pending recv so it can end
        super().stop()

    async def recv(self) -> Media:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            generation, item = await self._queue.get()
            if item is None or generation != self._generation:
                continue
            forwarded = self._forward(item)
            if forwarded is not None:
                return forwarded

    def _detach(self) -> None:
        # A new generation: whatever the old source already queued is skipped by recv.
        self._generation += 1
        self._offset = None
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if self._source is not None:
            self._source.stop()
            self._source = None
        self._publisher = None

    async def _run_pump(self, source: MediaStreamTrack, generation: int) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                self._queue.put_nowait((generation, await source.recv()))
        # The source ended (publisher left or reconnects): wait quietly for the next attach.

    def _ask_keyframe(self, now: float) -> None:
        self._last_request = now
        if self._publisher is not None:
            self._publisher.request_keyframe()

    def _forward(self, item: Media) -> Media | None:
        now = self._clock()
        keyframe = item.is_keyframe if isinstance(item, av.Packet) else True
        if self._awaiting_keyframe:
            if not keyframe:
                if now - self._last_request >= KEYFRAME_RETRY:
                    self._ask_keyframe(now)
                return None
            self._awaiting_keyframe = False
        if item.pts is None or item.time_base is None:
            return None
        rate = fractions.Fraction(item.time_base.denominator, item.time_base.numerator)
        if self._offset is None:
            self._offset = self._first_pts(now, rate) - item.pts
        pts = item.pts + self._offset
        out: Media
        if isinstance(item, av.Packet):
            # The fan-out hands the same packet to every subscriber: copy before re-timing.
            packet = av.Packet(bytes(item))
            packet.is_keyframe = keyframe
            out = packet
        else:
            out = item
        out.pts = pts
        out.time_base = item.time_base
        self._last_pts = pts
        self._last_wall = now
        self._counters.forwarded(self.kind)
        return out

    def _first_pts(self, now: float, rate: fractions.Fraction) -> int:
        if self._last_pts is None:
            return 0
        step = int(rate / _FRAME_RATE.get(self.kind, 30))
        elapsed = round((now - self._last_wall) * rate)
        return self._last_pts + max(step, elapsed)
