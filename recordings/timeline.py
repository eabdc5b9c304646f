"""Where a packet goes on a recording's timeline: pure, no I/O.

Every track of every participant of a recording is written on one clock: milliseconds since the
recording started, read on the worker's monotonic clock when packets ARRIVE. Arrival alone would
copy the network's jitter into the file, so within a track the sender's RTP timestamps space the
packets, anchored to arrival by the least-delayed packet seen (the one closest to the sender's
real pace). When the sender's clock jumps (a reconnect starts a new RTP timeline, a long mute)
or drifts far from arrival, the track is re-anchored on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

#: Re-anchor when the RTP-spaced time and the arrival time disagree by more than this.
MAX_SKEW = 1.0


@dataclass
class TrackClock:
    """Stamps one track's packets with milliseconds since ``origin`` (a monotonic reading)."""

    origin: float
    max_skew: float = MAX_SKEW
    _offset: float | None = None  # arrival - media time of the least-delayed packet
    _last_ms: int = -1

    def stamp(self, pts: int | None, time_base: Fraction | None, arrival: float) -> int:
        """The packet's timestamp in ms; strictly increasing within the track."""
        if pts is None or time_base is None:
            ms = round((arrival - self.origin) * 1000)
        else:
            media = float(pts * time_base)
            delay = arrival - media
            if (self._offset is None or delay < self._offset
                    or delay - self._offset > self.max_skew):
                # A packet less delayed than the anchor is the better anchor; one far later
                # than predicted means the sender's timeline jumped.
                self._offset = delay
            ms = round((media + self._offset - self.origin) * 1000)
        # The muxer needs increasing timestamps per track; a re-anchor may step backwards.
        ms = max(ms, self._last_ms + 1)
        self._last_ms = ms
        return ms

    def reset(self) -> None:
        """Forget the anchor (after a pause): the next packet anchors again on arrival."""
        self._offset = None
