"""How one forwarded RTP stream is rewritten for one subscriber. Pure: no I/O, no aiortc.

A subscriber's sender has one SSRC and one continuous sequence of packets, whoever is behind
it. When its source changes (someone joins, leaves, reconnects, a caucus starts), the new
source's sequence numbers, timestamps and VP8 picture IDs are shifted so that they continue
where the last source left off: the browser sees one stream with no jump back and no gap to
ask for. Video starts at the first packet of a keyframe (a delta frame of a new source cannot
be decoded). Offsets, not a table: a packet lost before the server stays a gap the subscriber
asks for, and the retransmission the server gets from the publisher fills it.

VP8 payload descriptor (RFC 7741 section 4.2): ``X R N S R PID`` then, if X, ``I L T K``; a
7- or 15-bit picture ID if I; TL0PICIDX if L; one byte if T or K. A keyframe starts where S is
set, PID is 0 and the VP8 payload header's P bit (bit 0 of its first byte) is 0. TL0PICIDX
(present when the browser encodes temporal layers, as Chromium does for simulcast) is shifted
like the picture ID: the receiver matches frames to their references by it, and a jump back
across a simulcast layer switch would make it drop frames.
"""

from __future__ import annotations

from typing import NamedTuple

_FRAME_STEP = {"video": 90000 // 30, "audio": 960}  # one frame: the least a switch advances


class Vp8Info(NamedTuple):  # a tuple: made for every video packet forwarded
    keyframe_start: bool
    picture_id: int | None   # None: the descriptor has none
    picture_id_bits: int     # 7 or 15
    picture_id_at: int       # byte offset of the picture ID in the payload
    tl0: int | None = None   # TL0PICIDX; None: the descriptor has none
    tl0_at: int = 0          # its byte offset in the payload


def vp8_info(payload: bytes) -> Vp8Info | None:
    """What the forwarder reads of a VP8 payload descriptor; None if it is malformed."""
    size = len(payload)
    if size < 1:
        return None
    first = payload[0]
    pos = 1
    picture_id: int | None = None
    bits = 0
    at = 0
    tl0: int | None = None
    tl0_at = 0
    if first & 0x80:  # X
        if size < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I
            if size <= pos:
                return None
            at = pos
            if payload[pos] & 0x80:  # M: 15-bit picture ID
                if size < pos + 2:
                    return None
                picture_id = ((payload[pos] & 0x7F) << 8) | payload[pos + 1]
                bits = 15
                pos += 2
            else:
                picture_id = payload[pos] & 0x7F
                bits = 7
                pos += 1
        if ext & 0x40:  # L
            if size <= pos:
                return None
            tl0 = payload[pos]
            tl0_at = pos
            pos += 1
        if ext & 0x30:  # T or K
            pos += 1
    if size <= pos:
        return None
    start = bool(first & 0x10) and (first & 0x07) == 0
    return Vp8Info(start and not payload[pos] & 0x01, picture_id, bits, at, tl0, tl0_at)


def with_picture_id(payload: bytes, info: Vp8Info, picture_id: int) -> bytes:
    """``payload`` with its picture ID replaced (same width, so nothing else moves)."""
    at = info.picture_id_at
    if info.picture_id_bits == 15:
        picture_id &= 0x7FFF
        return payload[:at] + bytes((0x80 | picture_id >> 8, picture_id & 0xFF)) + payload[at + 2:]
    return payload[:at] + bytes((picture_id & 0x7F,)) + payload[at + 1:]


def with_tl0(payload: bytes, info: Vp8Info, tl0: int) -> bytes:
    """``payload`` with its TL0PICIDX replaced."""
    at = info.tl0_at
    return payload[:at] + bytes((tl0 & 0xFF,)) + payload[at + 1:]


def _seq_newer(a: int, b: int) -> bool:
    return a != b and (a - b) & 0xFFFF < 0x8000


#: (sequence number, timestamp, payload) as the subscriber gets them.
Rewritten = tuple[int, int, bytes]


class StreamRewriter:
    """The output numbering of one subscriber's stream of one kind, across its sources."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.source: object | None = None  # any token naming the current source
        self._seq_offset: int | None = None
        self._ts_offset = 0
        self._pid_offset = 0
        self._tl0_offset = 0
        self._start_seq = 0
        self._last_seq: int | None = None   # the highest output sequence number sent
        self._last_ts: int | None = None
        self._last_wall = 0.0
        self._last_pid: int | None = None
        self._last_tl0: int | None = None
        self.awaiting_keyframe = kind == "video"

    def switch(self, source: object | None) -> None:
        """From the next packet on, ``source`` feeds this stream (None: nothing does)."""
        self.source = source
        self._seq_offset = None
        self.awaiting_keyframe = self.kind == "video"

    def rewrite(self, sequence_number: int, timestamp: int, payload: bytes, clock_rate: int,
                now: float) -> Rewritten | None:
        """The packet as this subscriber gets it, or None when it is not forwarded (video
        before the source's first keyframe, or older than that keyframe)."""
        info = vp8_info(payload) if self.kind == "video" else None
        if self._seq_offset is None:
            if self.kind == "video" and (info is None or not info.keyframe_start):
                return None
            self._begin(sequence_number, timestamp, info, clock_rate, now)
            self.awaiting_keyframe = False
        elif not (sequence_number == self._start_seq
                  or _seq_newer(sequence_number, self._start_seq)):
            return None  # from before this source's first forwarded packet
        elif (sequence_number - self._start_seq) & 0xFFFF > 0x4000:
            # Keep the mark trailing, so "older" stays meaningful as numbers wrap around.
            self._start_seq = (sequence_number - 0x2000) & 0xFFFF
        assert self._seq_offset is not None
        seq = (sequence_number + self._seq_offset) & 0xFFFF
        ts = (timestamp + self._ts_offset) & 0xFFFFFFFF
        pid: int | None = None
        if info is not None and info.picture_id is not None:
            pid = (info.picture_id + self._pid_offset) & ((1 << info.picture_id_bits) - 1)
            if self._pid_offset:
                payload = with_picture_id(payload, info, pid)
        tl0: int | None = None
        if info is not None and info.tl0 is not None:
            tl0 = (info.tl0 + self._tl0_offset) & 0xFF
            if self._tl0_offset:
                payload = with_tl0(payload, info, tl0)
        if self._last_seq is None or _seq_newer(seq, self._last_seq):
            self._last_seq = seq
            self._last_ts = ts
            self._last_wall = now
            if pid is not None:
                self._last_pid = pid
            if tl0 is not None:
                self._last_tl0 = tl0
        return seq, ts, payload

    def _begin(self, sequence_number: int, timestamp: int, info: Vp8Info | None,
               clock_rate: int, now: float) -> None:
        self._start_seq = sequence_number
        if self._last_seq is None or self._last_ts is None:
            self._seq_offset = 0
            self._ts_offset = 0
            self._pid_offset = 0
            self._tl0_offset = 0
            return
        self._seq_offset = (self._last_seq + 1 - sequence_number) & 0xFFFF
        elapsed = round((now - self._last_wall) * clock_rate)
        step = max(_FRAME_STEP.get(self.kind, 3000), elapsed)
        self._ts_offset = (self._last_ts + step - timestamp) & 0xFFFFFFFF
        if info is not None and info.picture_id is not None and self._last_pid is not None:
            mask = (1 << info.picture_id_bits) - 1
            self._pid_offset = (self._last_pid + 1 - info.picture_id) & mask
        else:
            self._pid_offset = 0
        if info is not None and info.tl0 is not None and self._last_tl0 is not None:
            # A keyframe starts a new base-layer picture: one on from the last forwarded.
            self._tl0_offset = (self._last_tl0 + 1 - info.tl0) & 0xFF
        else:
            self._tl0_offset = 0

    def output_timestamp(self, source_timestamp: int) -> int:
        """A source RTP timestamp on this stream's timeline (for sender reports)."""
        return (source_timestamp + self._ts_offset) & 0xFFFFFFFF

    @property
    def started(self) -> bool:
        return self._seq_offset is not None
