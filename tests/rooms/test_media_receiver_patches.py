"""The loss fixes and the non-decoding decoder, driven packet by packet with a fake clock."""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction

import av
from aiortc import RTCPeerConnection, rtcrtpreceiver, rtcrtpsender
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from rooms.media.codec_audit import (
    RECEIVER_THREAD_ATTR,
    SENDER_TASK_ATTR,
    CountingDecoder,
    install_codec_hooks,
)
from rooms.media.counters import MediaCounters
from rooms.media.passthrough import PassthroughDecoder, ReceiverState, mark_discontinuity
from rooms.media.receiver_patches import (
    NACK_GIVE_UP,
    OpusPassThroughBuffer,
    ResendingNackGenerator,
    StallCappedJitterBuffer,
)

KEYFRAME = bytes([0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + b"k" * 20
DELTA = bytes([0x31, 0x0B, 0x00]) + b"d" * 30
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2,
                             payloadType=96)
PCMU = RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000, channels=1,
                             payloadType=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rtp(seq: int, timestamp: int, data: bytes = b"x", marker: int = 0,
        ssrc: int = 1234) -> RtpPacket:
    packet = RtpPacket(payload_type=97, marker=marker, sequence_number=seq,
                       timestamp=timestamp, ssrc=ssrc, payload=data)
    packet._data = data  # type: ignore[attr-defined]  # what the receiver's depayload sets
    return packet


def test_nacks_are_repeated_until_given_up() -> None:
    clock = FakeClock()
    nacks = ResendingNackGenerator(clock)
    assert not nacks.add(rtp(10, 0))
    assert nacks.add(rtp(13, 0))  # 11 and 12 lost: the receiver NACKs them at once
    assert nacks.due(clock.now) == []  # just NACKed
    clock.now += 0.1
    assert nacks.due(clock.now) == [11, 12]
    nacks.add(rtp(11, 0))  # retransmission of 11 arrives
    clock.now += 0.1
    assert nacks.due(clock.now) == [12]
    assert nacks.due(clock.now) == []  # not twice in one interval
    clock.now += NACK_GIVE_UP
    assert nacks.due(clock.now) == []
    assert nacks.missing == set()


def test_video_stall_is_capped_and_flagged() -> None:
    clock = FakeClock()
    state = ReceiverState("video")
    losses: list[float] = []
    buffer = StallCappedJitterBuffer(state, lambda: losses.append(clock.now), clock,
                                     max_stall=0.3)
    assert buffer.add(rtp(1, 3000, KEYFRAME, marker=1)) == (False, None)
    _, frame = buffer.add(rtp(2, 6000, DELTA, marker=1))
    assert frame is not None and frame.data == KEYFRAME and state.media_ssrc == 1234
    # Packet 3 is lost; later frames pile up behind the gap.
    for i, seq in enumerate(range(4, 12)):
        clock.now += 0.033
        assert buffer.add(rtp(seq, 12000 + 3000 * i, DELTA, marker=1))[1] is None
    assert losses == [], "no flush before the cap"
    clock.now += 0.1
    assert buffer.add(rtp(12, 40000, DELTA, marker=1)) == (False, None)
    assert losses == [clock.now], "flushed and asked for a keyframe"
    # A straggler from before the flush is dropped; new frames flow, the first one flagged.
    assert buffer.add(rtp(3, 9000, DELTA, marker=1)) == (False, None)
    assert buffer.add(rtp(13, 43000, KEYFRAME, marker=1)) == (False, None)
    _, frame = buffer.add(rtp(14, 46000, DELTA, marker=1))
    assert frame is not None and frame.data == KEYFRAME
    assert getattr(frame, "parley_discontinuity", False)


def test_no_stall_without_a_gap() -> None:
    clock = FakeClock()
    losses: list[float] = []
    buffer = StallCappedJitterBuffer(ReceiverState("video"), lambda: losses.append(1), clock)
    buffer.add(rtp(1, 3000, KEYFRAME))
    clock.now += 5  # the publisher paused; no gap, nothing to flush
    assert buffer.add(rtp(2, 3000, b"more"))[1] is None
    assert buffer.add(rtp(3, 6000, DELTA))[1] is not None
    assert losses == []


def test_opus_packets_pass_straight_through() -> None:
    state = ReceiverState("audio")
    buffer = OpusPassThroughBuffer(state)
    _, first = buffer.add(rtp(1, 960, b"a"))
    assert first is not None and first.data == b"a" and first.timestamp == 960
    assert buffer.add(rtp(3, 2880, b"c"))[1] is not None  # a gap does not hold anything
    assert buffer.add(rtp(2, 1920, b"b"))[1] is None  # late: timestamps never go back
    assert buffer.add(rtp(3, 2880, b"c"))[1] is None  # duplicate
    assert buffer.add(rtp(4, 2**32 - 10, b"w"))[1] is None  # far behind (not a wrap)
    assert state.media_ssrc == 1234


def test_opus_buffer_follows_timestamp_wrap() -> None:
    buffer = OpusPassThroughBuffer(ReceiverState("audio"))
    assert buffer.add(rtp(1, 2**32 - 960, b"a"))[1] is not None
    assert buffer.add(rtp(2, 0, b"b"))[1] is not None


def test_passthrough_decoder_yields_packets_and_waits_for_keyframes() -> None:
    state = ReceiverState("video")
    decoder = PassthroughDecoder(VP8, state)
    assert decoder.decode(JitterFrame(DELTA, 0)) == [], "nothing before the first keyframe"
    (packet,) = decoder.decode(JitterFrame(KEYFRAME, 3000))
    assert isinstance(packet, av.Packet)
    assert bytes(packet) == KEYFRAME and packet.pts == 3000
    assert packet.time_base == Fraction(1, 90000) and packet.is_keyframe
    (delta,) = decoder.decode(JitterFrame(DELTA, 6000))
    assert not delta.is_keyframe
    after_loss = JitterFrame(DELTA, 9000)
    mark_discontinuity(after_loss)
    assert decoder.decode(after_loss) == [] and state.awaiting_keyframe
    assert decoder.decode(JitterFrame(DELTA, 12000)) == []
    assert len(decoder.decode(JitterFrame(KEYFRAME, 15000))) == 1
    assert not state.awaiting_keyframe


def test_passthrough_decoder_for_opus() -> None:
    (packet,) = PassthroughDecoder(OPUS, ReceiverState("audio")).decode(JitterFrame(b"op", 960))
    assert isinstance(packet, av.Packet)
    assert packet.time_base == Fraction(1, 48000) and packet.is_keyframe


async def test_codec_hooks_count_real_codec_work_of_worker_receivers_only() -> None:
    registry = install_codec_hooks()
    assert install_codec_hooks() is registry, "installing twice reuses the hooks"
    pc = RTCPeerConnection()
    try:
        mine, theirs = pc.addTransceiver("audio"), pc.addTransceiver("audio")
        counters = MediaCounters()
        registry.own_receiver(mine.receiver, ReceiverState("audio"), counters)
        results: dict[str, object] = {}

        def decoder_thread(name: str, receiver: object, codec: RTCRtpCodecParameters) -> None:
            setattr(receiver, RECEIVER_THREAD_ATTR, threading.current_thread())
            decoder = rtcrtpreceiver.get_decoder(codec)  # type: ignore[attr-defined]
            decoder.decode(JitterFrame(b"\xff" * 160, 0))
            results[name] = decoder

        for name, receiver, codec in (("opus", mine.receiver, OPUS),
                                      ("pcmu", mine.receiver, PCMU),
                                      ("client", theirs.receiver, PCMU)):
            thread = threading.Thread(target=decoder_thread, args=(name, receiver, codec))
            thread.start()
            await asyncio.to_thread(thread.join)
        assert isinstance(results["opus"], PassthroughDecoder)
        assert isinstance(results["pcmu"], CountingDecoder)
        assert not isinstance(results["client"], CountingDecoder | PassthroughDecoder)
        assert counters.snapshot()[1] == 1, "the one real decode for the worker is counted"
        assert callable(rtcrtpsender.get_encoder)  # type: ignore[attr-defined]
    finally:
        for t in pc.getTransceivers():
            setattr(t.receiver, RECEIVER_THREAD_ATTR, None)
        await pc.close()


async def test_codec_hooks_count_encodes_of_worker_senders() -> None:
    registry = install_codec_hooks()
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("video").sender
        counters = MediaCounters()
        registry.own_sender(sender, counters)

        async def rtp_task() -> None:
            # Stand in for the sender's own RTP task, the one get_encoder is called from.
            setattr(sender, SENDER_TASK_ATTR, asyncio.current_task())
            encoder = rtcrtpsender.get_encoder(VP8)  # type: ignore[attr-defined]
            frame = av.VideoFrame(64, 48, "yuv420p")
            frame.pts, frame.time_base = 0, Fraction(1, 90000)
            encoder.encode(frame)
            packet = av.Packet(KEYFRAME)
            packet.pts, packet.time_base = 0, Fraction(1, 90000)
            encoder.pack(packet)

        await asyncio.ensure_future(rtp_task())
        assert counters.snapshot()[2] == 1, "one encode counted, pack is not encoding"
        outside = rtcrtpsender.get_encoder(VP8)  # type: ignore[attr-defined]
        assert type(outside).__name__ == "Vp8Encoder", "other senders get the stock encoder"
    finally:
        await pc.close()
