"""What a phone party of a mediation hears: the sum of every stream the room sends them.

The phone's peer connection offers one receiving audio slot per other participant, as a
browser does; the media worker forwards to each slot only a participant the caucus rules let
this party hear (default deny, ``rooms.caucus.allowed_pairs``). So summing whatever arrives is
exactly the mix of the people they may hear: nothing in this file decides who that is."""

from __future__ import annotations

import functools
from array import array

import av

from signaling.telephony.prompts import encode_g711
from signaling.telephony.rtp import FRAME

BUFFERED = 10  # 20 ms frames kept per stream at most: 200 ms, older audio is dropped
_BYTES = FRAME * 2  # one 20 ms frame of 16-bit PCM at 8 kHz


@functools.cache
def _g711_table(codec: str) -> bytes:
    """Every 16-bit sample (as its unsigned bit pattern) to its G.711 byte, computed once."""
    pcm = array("h", (v - 65536 if v >= 32768 else v for v in range(65536))).tobytes()
    return encode_g711(pcm, codec)


def mixed(frames: list[bytes]) -> bytes:
    """Sum 16-bit PCM frames of equal length, clipped (pure)."""
    if len(frames) == 1:
        return frames[0]
    columns = [array("h", f) for f in frames]
    return array("h", (max(-32768, min(32767, sum(s))) for s in zip(*columns, strict=True))
                 ).tobytes()


class Mix:
    """Streams in (any rate, layout), 20 ms of G.711 out: the sum of those that have audio."""

    def __init__(self, codec: str) -> None:
        self._table = _g711_table(codec)
        self._pcm: dict[int, bytearray] = {}
        self._resamplers: dict[int, av.AudioResampler] = {}

    def add(self, slot: int, frame: av.AudioFrame) -> None:
        resampler = self._resamplers.setdefault(
            slot, av.AudioResampler(format="s16", layout="mono", rate=8000))
        pcm = self._pcm.setdefault(slot, bytearray())
        for out in resampler.resample(frame):
            pcm += bytes(out.planes[0])[: out.samples * 2]
        del pcm[: max(0, len(pcm) - BUFFERED * _BYTES)]

    def drop(self, slot: int) -> None:
        self._pcm.pop(slot, None)
        self._resamplers.pop(slot, None)

    def next(self) -> bytes | None:
        """The next 20 ms for the phone, or None when no stream has any (the leg sends
        silence)."""
        frames = []
        for pcm in self._pcm.values():
            if len(pcm) >= _BYTES:
                frames.append(bytes(pcm[:_BYTES]))
                del pcm[:_BYTES]
        if not frames:
            return None
        table = self._table
        return bytes(table[s & 0xFFFF] for s in array("h", mixed(frames)))
