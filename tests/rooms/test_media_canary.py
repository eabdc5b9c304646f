"""Canary: the private aiortc names the media worker relies on (docs/media.md).

If one of these fails after an aiortc upgrade, the worker would silently decode, re-encode,
ignore keyframe requests or lose its loss fixes. Read docs/media.md, adapt rooms/media/ to the
new aiortc, then update this test.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import aiortc
import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver, rtcrtpreceiver, rtcrtpsender
from aiortc.contrib.media import MediaRelay
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

from rooms.media import codec_audit, receiver_patches
from rooms.media.local import SENDER_KEYFRAME_HOOK


def changed(what: str) -> str:
    return (f"aiortc {aiortc.__version__} changed {what}; the media worker depends on it "
            "(see docs/media.md, 'aiortc internals'). Adapt rooms/media/ before upgrading.")


def source(obj: object) -> str:
    return inspect.getsource(obj)  # type: ignore[arg-type]


@pytest.fixture
async def transceivers() -> AsyncIterator[tuple[RTCRtpTransceiver, RTCRtpTransceiver]]:
    pc = RTCPeerConnection()
    pair = (pc.addTransceiver("audio"), pc.addTransceiver("video"))
    yield pair
    await pc.close()


def test_pinned_minor_version() -> None:
    assert aiortc.__version__.startswith("1.16."), changed("its version (pinned to 1.16.*)")


def test_decoder_is_looked_up_by_module_name_in_the_decoder_thread() -> None:
    assert hasattr(rtcrtpreceiver, codec_audit.DECODER_LOOKUP), changed(
        "aiortc.rtcrtpreceiver.get_decoder (gone)")
    worker_src = source(rtcrtpreceiver.decoder_worker)
    assert "decoder = get_decoder(codec)" in worker_src, changed(
        "how decoder_worker finds its decoder (no longer get_decoder(codec))")
    assert "decoder.decode(encoded_frame)" in worker_src, changed("Decoder.decode call")
    assert "output_q.put(frame)" in worker_src, changed(
        "decoder_worker no longer hands decode() results to the track as they are")
    receive_src = source(RTCRtpReceiver.receive)
    assert "target=decoder_worker" in receive_src, changed("the receiver's decoder thread")


def test_sender_packs_packets_and_looks_up_its_encoder_by_module_name() -> None:
    assert hasattr(rtcrtpsender, codec_audit.ENCODER_LOOKUP), changed(
        "aiortc.rtcrtpsender.get_encoder (gone)")
    src = source(RTCRtpSender._next_encoded_frame)
    assert "get_encoder(codec)" in src, changed("how the sender finds its encoder")
    assert "self.__encoder.pack(data)" in src, changed(
        "the sender's pass-through of av.Packet (pack instead of encode)")
    assert list(inspect.signature(JitterFrame).parameters) == ["data", "timestamp"], changed(
        "JitterFrame(data, timestamp)")


def test_keyframe_hooks() -> None:
    hook = getattr(RTCRtpSender, SENDER_KEYFRAME_HOOK, None)
    assert callable(hook), changed("RTCRtpSender._send_keyframe (gone)")
    assert list(inspect.signature(hook).parameters) == ["self"], changed(
        "RTCRtpSender._send_keyframe signature")
    assert "self._send_keyframe()" in source(RTCRtpSender._handle_rtcp_packet), changed(
        "how a received PLI/FIR reaches the sender")
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) == [
        "self", "media_ssrc"], changed("RTCRtpReceiver._send_rtcp_pli(media_ssrc)")
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_nack).parameters) == [
        "self", "media_ssrc", "lost"], changed("RTCRtpReceiver._send_rtcp_nack(media_ssrc, lost)")


async def test_receiver_private_parts(
        transceivers: tuple[RTCRtpTransceiver, RTCRtpTransceiver]) -> None:
    audio, video = transceivers
    for attr in (receiver_patches.JITTER_BUFFER_ATTR, receiver_patches.NACK_GENERATOR_ATTR,
                 codec_audit.RECEIVER_THREAD_ATTR):
        assert hasattr(video.receiver, attr), changed(f"RTCRtpReceiver.{attr}")
    assert isinstance(getattr(audio.receiver, receiver_patches.JITTER_BUFFER_ATTR),
                      JitterBuffer), changed("the audio jitter buffer")
    assert isinstance(getattr(video.receiver, receiver_patches.NACK_GENERATOR_ATTR),
                      NackGenerator), changed("the video NACK generator")
    assert hasattr(video.sender, codec_audit.SENDER_TASK_ATTR), changed(
        "RTCRtpSender.__rtp_task")
    handle_src = source(RTCRtpReceiver._handle_rtp_packet)
    for needle in ("self.__jitter_buffer.add(packet)", "self.__nack_generator.add(packet)",
                   "packet._data = depayload(codec, packet.payload)",
                   "self.__timestamp_mapper.map("):
        assert needle in handle_src, changed(f"RTCRtpReceiver._handle_rtp_packet ({needle})")


def test_jitter_buffer_and_nack_generator_internals() -> None:
    buffer = JitterBuffer(capacity=16, is_video=True)
    for attr in ("_packets", "_origin", "_capacity", "_remove_frame", "remove"):
        assert hasattr(buffer, attr), changed(f"JitterBuffer.{attr}")
    assert list(inspect.signature(JitterBuffer).parameters) == [
        "capacity", "prefetch", "is_video"], changed("JitterBuffer(capacity, prefetch, is_video)")
    nacks = NackGenerator()
    assert nacks.missing == set() and nacks.max_seq is None, changed("NackGenerator state")


def test_media_relay_is_buffered_per_subscriber() -> None:
    params = inspect.signature(MediaRelay.subscribe).parameters
    assert list(params) == ["self", "track", "buffered"], changed("MediaRelay.subscribe")
