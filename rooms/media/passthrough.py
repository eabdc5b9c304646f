"""The decoder that does not decode: it hands the receiver's assembled frames on as packets.

aiortc's receiver assembles RTP packets into whole encoded frames (``JitterFrame``) and gives
them to a decoder (in its decoder thread; for the worker, right on the event loop, see
``rooms.media.delivery``). Returning the frame's bytes as an ``av.Packet`` yields encoded
packets, which aiortc's sender re-packetises without encoding. That is all the worker's
forwarding rests on.
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass

import av
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame

from rooms.media.vp8 import is_vp8_keyframe

#: Codecs the worker forwards as they are; the worker negotiates nothing else.
PASSTHROUGH_MIME_TYPES = frozenset({"video/vp8", "audio/opus"})

#: Set on a ``JitterFrame`` by the worker's jitter buffer when data before it was thrown away.
DISCONTINUITY_ATTR = "parley_discontinuity"


@dataclass
class ReceiverState:
    """What the worker knows about one publishing receiver: written by the jitter buffer and
    ``PassthroughDecoder`` and read for keyframe requests, all on the event loop
    (``rooms.media.delivery``). Were a decoder thread to use it (the codec hook's fallback),
    plain attribute reads and writes of a bool or int are atomic under the GIL."""

    kind: str
    #: Video only: frames are dropped until a keyframe, at the start and after any loss the
    #: jitter buffer gave up on (a delta frame after a gap would smear the picture, and the
    #: browser cannot see the gap because the sender rewrites VP8 picture IDs).
    awaiting_keyframe: bool = True
    #: The publisher's media SSRC, learnt from its packets; PLIs and NACKs name it.
    media_ssrc: int | None = None


def mark_discontinuity(frame: JitterFrame) -> None:
    setattr(frame, DISCONTINUITY_ATTR, True)


class PassthroughDecoder(Decoder):
    """Turns a ``JitterFrame`` into one ``av.Packet``: pts = RTP timestamp (already unwrapped
    by the receiver), time base 1/clock rate, keyframe flag from the VP8 frame tag; Opus
    packets are all keyframes."""

    def __init__(self, codec: RTCRtpCodecParameters, state: ReceiverState) -> None:
        self._time_base = fractions.Fraction(1, codec.clockRate)
        self._is_vp8 = codec.mimeType.lower() == "video/vp8"
        self._state = state

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        data = encoded_frame.data
        if not data:
            return []
        keyframe = True
        if self._is_vp8:
            keyframe = is_vp8_keyframe(data)
            if getattr(encoded_frame, DISCONTINUITY_ATTR, False):
                self._state.awaiting_keyframe = True
            if self._state.awaiting_keyframe:
                if not keyframe:
                    return []
                self._state.awaiting_keyframe = False
        packet = av.Packet(data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = self._time_base
        packet.is_keyframe = keyframe
        # The receiver's thread only queues what it gets; packets are what the worker wants.
        return [packet]  # type: ignore[list-item]
