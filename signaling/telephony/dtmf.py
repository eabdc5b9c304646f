"""RFC 4733 telephone events (DTMF) from RTP payloads: pure, one detector per call.

A key press is sent as several packets with one RTP timestamp, the last three repeated with
the end bit. The digit counts once, at its first end packet. Some senders (SIPp replaying a
capture) reuse one timestamp for every press, so a press that starts again after its end is a
new one even with the same timestamp and event."""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"  # RFC 4733 §3.2: events 0-15


@dataclass
class DtmfDetector:
    _reported: tuple[int, int] | None = None
    _again: bool = False

    def feed(self, payload: bytes, timestamp: int) -> str | None:
        """The digit this packet completes, or None."""
        if len(payload) < 4:
            return None
        event, flags, _duration = struct.unpack("!BBH", payload[:4])
        if event >= len(EVENTS):
            return None  # tones other than DTMF
        key = (timestamp, event)
        if not flags & 0x80:  # not the end yet
            if key == self._reported:
                self._again = True
            return None
        if key == self._reported and not self._again:
            return None  # a repeated end packet
        self._reported, self._again = key, False
        return EVENTS[event]


def event_payload(digit: str, duration: int, end: bool, volume: int = 10) -> bytes:
    """One RFC 4733 payload (for callers we dial and for tests)."""
    return struct.pack("!BBH", EVENTS.index(digit), (0x80 if end else 0) | volume, duration)
