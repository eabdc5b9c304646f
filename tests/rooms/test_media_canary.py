"""Canary: the private aiortc names the media worker relies on (docs/media.md).

If one of these fails after an aiortc upgrade, the worker would silently decode, re-encode,
stop forwarding packets, ignore NACKs, keyframe requests or REMB, send wrong reports or lose
its loss fixes. Read docs/media.md, adapt rooms/media/ to the
new aiortc, then update this test.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import AsyncIterator

import aiortc
import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver, rtcrtpreceiver, rtcrtpsender
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rate import OveruseEstimator, RateCounter, RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver, StreamStatistics, TimestampMapper
from aiortc.rtcrtpsender import RTCRtpSender

from rooms.media import codec_audit, delivery, fastpath, outstream, peer
from rooms.media.outstream import SENDER_KEYFRAME_HOOK

# sha256 (first 12 hex digits) of the aiortc 1.16 methods rooms/media/bitrate.py re-implements.
KNOWN_BODIES = {
    "9c21aab90a3d",  # RateCounter.add
    "4a29ebac94f1",  # RateCounter.rate
    "567df1f10a64",  # RateCounter.reset
    "1d4cf1063d47",  # RateCounter._erase_old
    "3570bc440684",  # OveruseEstimator.update_min_frame_period
}


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
    # rooms.media.peer takes over the receiver's RTP entry point and feeds what it keeps.
    _, video = transceivers
    for attr in (peer.RECEIVER_RTP_IN, peer.RECEIVER_RTCP_IN, peer.RECEIVER_STREAMS,
                 peer.RECEIVER_RTCP_SSRC, codec_audit.RECEIVER_THREAD_ATTR):
        assert hasattr(video.receiver, attr), changed(f"RTCRtpReceiver.{attr}")
    assert getattr(video.receiver, peer.RECEIVER_STREAMS) == {}, changed(
        "RTCRtpReceiver.__remote_streams (a dict by SSRC)")
    assert list(inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters) == [
        "self", "packet", "arrival_time_ms"], changed("RTCRtpReceiver._handle_rtp_packet")
    transport_src = source(RTCDtlsTransport._handle_rtp_data)
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in (
        transport_src), changed("how the transport hands RTP to the receiver")
    assert "await recipient._handle_rtcp_packet(packet)" in source(
        RTCDtlsTransport._handle_rtcp_data), changed("how RTCP reaches receivers and senders")
    rtcp_src = source(RTCRtpReceiver._run_rtcp)
    assert "self.__remote_streams.items()" in rtcp_src, changed(
        "where the receiver's reports come from")
    assert list(inspect.signature(StreamStatistics).parameters) == ["clockrate"], changed(
        "StreamStatistics(clockrate)")
    assert callable(StreamStatistics.add) and callable(TimestampMapper().map), changed(
        "StreamStatistics.add / TimestampMapper.map")
    assert "self.__rtcp_ssrc = ssrc" in source(RTCRtpReceiver._set_rtcp_ssrc), changed(
        "RTCRtpReceiver.__rtcp_ssrc")
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp).parameters) == [
        "self", "packet"], changed("RTCRtpReceiver._send_rtcp(packet)")


async def test_sender_private_parts(
        transceivers: tuple[RTCRtpTransceiver, RTCRtpTransceiver]) -> None:
    # rooms.media.outstream sends on the sender's transport with its SSRC and takes over its
    # RTCP in and out; its own RTP loop only waits on the idle track.
    _, video = transceivers
    sender = video.sender
    assert isinstance(sender._ssrc, int), changed("RTCRtpSender._ssrc")
    for attr in (outstream.SENDER_RTCP_IN, outstream.SENDER_RTCP_OUT, SENDER_KEYFRAME_HOOK,
                 codec_audit.SENDER_TASK_ATTR):
        assert hasattr(sender, attr), changed(f"RTCRtpSender.{attr}")
    assert "await self._send_rtcp(packets)" in source(RTCRtpSender._run_rtcp), changed(
        "how the sender sends its reports")
    assert "RtcpSrPacket(" in source(RTCRtpSender._run_rtcp), changed("the sender's SR")
    assert "self._rtp_router.register_sender(sender, ssrc=sender._ssrc)" in source(
        RTCDtlsTransport._register_rtp_sender), changed("RTCP routing to senders by SSRC")
    assert "await self.__track.recv()" in source(RTCRtpSender._next_encoded_frame), changed(
        "the sender reading its track")
    assert list(inspect.signature(RTCDtlsTransport._send_rtp).parameters) == [
        "self", "data"], changed("RTCDtlsTransport._send_rtp(data)")
    assert "self._tx_srtp.protect(data)" in source(RTCDtlsTransport._send_rtp), changed(
        "RTCDtlsTransport._send_rtp encrypting RTP")
    assert "tx_policy.allow_repeat_tx = True" in source(RTCDtlsTransport._setup_srtp), changed(
        "SRTP allowing a packet to be sent again (NACK answers from the cache)")


def test_jitter_buffer_and_nack_generator_internals() -> None:
    buffer = JitterBuffer(capacity=16, is_video=True)
    for attr in ("_packets", "_origin", "_capacity", "_remove_frame", "remove"):
        assert hasattr(buffer, attr), changed(f"JitterBuffer.{attr}")
    assert list(inspect.signature(JitterBuffer).parameters) == [
        "capacity", "prefetch", "is_video"], changed("JitterBuffer(capacity, prefetch, is_video)")
    nacks = NackGenerator()
    assert nacks.missing == set() and nacks.max_seq is None, changed("NackGenerator state")


async def test_decoder_queue_still_carries_the_end_of_the_stream(
        transceivers: tuple[RTCRtpTransceiver, RTCRtpTransceiver]) -> None:
    # rooms.media.peer puts its frame queue in place of the receiver's decoder queue: frames
    # come from the worker's own assembly, the end of the stream still from the receiver.
    for transceiver in transceivers:
        assert hasattr(transceiver.receiver, delivery.DECODER_QUEUE_ATTR), changed(
            "RTCRtpReceiver.__decoder_queue")
    receive_src = source(RTCRtpReceiver.receive)
    assert "self.__decoder_queue," in receive_src, changed(
        "the decoder thread no longer reads the receiver's decoder queue")
    assert "self.__decoder_queue.put(None)" in source(
        RTCRtpReceiver._RTCRtpReceiver__stop_decoder), changed(  # type: ignore[attr-defined]
        "how the receiver stops its decoder thread")
    worker_src = source(rtcrtpreceiver.decoder_worker)
    assert "task = input_q.get()" in worker_src and "if task is None:" in worker_src, changed(
        "how decoder_worker reads its queue")


def test_bitrate_estimator_internals() -> None:
    # rooms.media.bitrate replaces two parts of aiortc's REMB estimator (the worker's own).
    estimator = RemoteBitrateEstimator()
    assert isinstance(estimator.incoming_bitrate, RateCounter), changed("incoming_bitrate")
    assert isinstance(estimator.estimator, OveruseEstimator), changed("the overuse estimator")
    counter = RateCounter(1000, 8000)
    for attr in ("_origin_ms", "_origin_index", "_total", "_window_size", "_scale"):
        assert hasattr(counter, attr), changed(f"RateCounter.{attr}")
    for method in (RateCounter.add, RateCounter.rate, RateCounter.reset, RateCounter._erase_old,
                   OveruseEstimator.update_min_frame_period):
        # The replacements were written against these exact bodies.
        assert hashlib.sha256(source(method).encode()).hexdigest()[:12] in KNOWN_BODIES, changed(
            f"{method.__qualname__}")


async def test_fast_path_private_parts() -> None:
    # rooms.media.fastpath reads the socket and sends below aiortc's coroutines.
    from aioice.ice import Connection, StunProtocol

    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        dtls = pc.getTransceivers()[0].receiver.transport
        connection = getattr(dtls.transport, fastpath.ICE_CONNECTION)
        assert isinstance(connection, Connection), changed("RTCIceTransport._connection")
        protocols = getattr(connection, fastpath.ICE_PROTOCOLS)
        assert protocols and all(isinstance(p, StunProtocol) for p in protocols), changed(
            "aioice Connection._protocols")
        assert getattr(connection, fastpath.ICE_NOMINATED) == {}, changed(
            "aioice Connection._nominated")
        for attr in (fastpath.DTLS_RX_SRTP, fastpath.DTLS_TX_SRTP, fastpath.DTLS_ROUTER,
                     fastpath.DTLS_EXTENSIONS):
            assert hasattr(dtls, attr), changed(f"RTCDtlsTransport.{attr}")
        assert dtls.state == "new", changed("RTCDtlsTransport.state as a lower-case string")
        assert getattr(dtls, fastpath.DTLS_STATE) is State.NEW, changed(
            "RTCDtlsTransport._state (a State)")
    finally:
        await pc.close()
    assert "self.receiver.data_received(data, self.local_candidate.component)" in source(
        StunProtocol.datagram_received), changed("how aioice hands on a datagram")
    assert "active_pair.protocol.send_data(data, active_pair.remote_addr)" in source(
        Connection.sendto), changed("how aioice sends on the nominated pair")
    assert "self.transport.sendto(data, addr)" in source(StunProtocol.send_data), changed(
        "StunProtocol.send_data")
    recv_src = source(RTCDtlsTransport._recv_next)
    for needle in ("first_byte > 127 and first_byte < 192 and self._rx_srtp",
                   "data = self._rx_srtp.unprotect(data)"):
        assert needle in recv_src, changed(f"RTCDtlsTransport._recv_next ({needle})")
    assert "RtpPacket.parse(data, self._rtp_header_extensions_map)" in source(
        RTCDtlsTransport._handle_rtp_data), changed("how the transport parses RTP")
    assert "receiver = self._rtp_router.route_rtp(packet)" in source(
        RTCDtlsTransport._handle_rtp_data), changed("how the transport routes RTP")


def test_asyncio_datagram_transport_parts() -> None:
    # rooms.media.fastpath reads a datagram transport's socket itself, in batches.
    import asyncio.selector_events as se

    assert "self._sock.recvfrom(self.max_size)" in source(se._SelectorDatagramTransport._read_ready)
    assert "self._loop._remove_reader(self._sock_fd)" in source(se._SelectorTransport.close)
    loop_cls = se.BaseSelectorEventLoop
    for attr in (fastpath.LOOP_ADD_READER, fastpath.LOOP_REMOVE_READER):
        assert callable(getattr(loop_cls, attr, None)), f"asyncio changed {attr}"


def test_pylibsrtp_session_context() -> None:
    # rooms.media.srtp calls libsrtp on the context a pylibsrtp Session holds.
    import pylibsrtp
    from pylibsrtp._binding import lib

    from rooms.media import srtp

    session = pylibsrtp.Session()
    context = getattr(session, srtp.SESSION_CONTEXT, None)
    assert context is not None and context[0] is not None, "pylibsrtp changed Session._srtp"
    assert pylibsrtp.SRTP_MAX_TRAILER_LEN == srtp.TRAILER, "pylibsrtp changed its trailer size"
    assert callable(lib.srtp_protect) and callable(lib.srtp_unprotect)
