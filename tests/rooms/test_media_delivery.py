"""Frames handed on in the event loop: the inline frame queue and the listeners' fan-out."""

from __future__ import annotations

from typing import Any

import av
from aiortc.jitterbuffer import JitterFrame

from rooms.media.delivery import InlineFrameQueue
from rooms.media.fanout import FanOut
from rooms.media.passthrough import ReceiverState, mark_discontinuity
from tests.rooms.test_media_receiver_patches import DELTA, KEYFRAME, OPUS, PCMU, VP8


def packet(pts: int) -> av.Packet[Any]:
    item = av.Packet(b"p%d" % pts)
    item.pts = pts
    return item


def test_vp8_and_opus_frames_are_delivered_at_once_as_packets() -> None:
    delivered: list[av.Packet[Any] | None] = []
    video = InlineFrameQueue(ReceiverState("video"), delivered.append)
    video.put((VP8, JitterFrame(DELTA, 0)))  # nothing before the first keyframe
    video.put((VP8, JitterFrame(KEYFRAME, 3000)))
    video.put((VP8, JitterFrame(DELTA, 6000)))
    lost = JitterFrame(DELTA, 9000)
    mark_discontinuity(lost)
    video.put((VP8, lost))  # after a loss: dropped until the next keyframe
    assert [(bytes(p), p.pts, p.is_keyframe) for p in delivered if p is not None] == [
        (KEYFRAME, 3000, True), (DELTA, 6000, False)]
    audio_out: list[av.Packet[Any] | None] = []
    InlineFrameQueue(ReceiverState("audio"), audio_out.append).put((OPUS, JitterFrame(b"o", 960)))
    assert len(audio_out) == 1 and audio_out[0] is not None and audio_out[0].pts == 960


def test_other_codecs_and_the_end_go_to_the_decoder_thread() -> None:
    delivered: list[av.Packet[Any] | None] = []
    frames = InlineFrameQueue(ReceiverState("audio"), delivered.append)
    pcmu = (PCMU, JitterFrame(b"\xff" * 160, 0))
    frames.put(pcmu)
    assert delivered == [] and frames.get() == pcmu, "a real codec is decoded (and counted)"
    frames.put(None)
    frames.put(None)  # the receiver may stop twice (disconnect, then close)
    assert delivered == [None], "subscribers learn of the end once"
    assert frames.get() is None, "the thread ends the receiver's own track"


def test_a_failing_listener_is_dropped_and_the_others_keep_listening() -> None:
    fanout = FanOut("audio")
    heard: list[int | None] = []

    def broken(_: av.Packet[Any]) -> None:
        raise RuntimeError("recorder bug")

    fanout.listen(broken)
    fanout.listen(lambda p: heard.append(p.pts))
    fanout.deliver(packet(1))  # must not raise into aiortc's receive path
    fanout.deliver(packet(2))
    assert heard == [1, 2]
    fanout.deliver(None)
    fanout.deliver(packet(3))
    assert heard == [1, 2], "listeners end with the publication"
