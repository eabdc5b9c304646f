"""The phone leg's audio on the bridge's peer connection, without aiortc's media machinery.

Profiled (docs/telephony.md, "Where a bridged call's CPU goes"), half of a bridged call's CPU
was aiortc's own media path in the bridge's connection, not the codecs: the sender's RTP task
(a frame through a thread-pool executor to the Opus encoder, then five coroutines down to
``sendto``), the receiver's DTLS task, jitter buffer and decoder thread, and a pump awaiting
the decoded track. Here the connection (ICE, DTLS, SRTP keys, RTCP) stays aiortc's, but:

- **to the room**: once per tick of the line's 20 ms pacer (the caller's packet, or silence),
  G.711 is expanded to 8 kHz PCM by table, encoded by libopus as 8 kHz mono (no 48 kHz
  stereo resampling), and sent as one RTP packet on the connection's SRTP session
  (``rooms.media.fastpath.send_media``); aiortc's sender waits on an idle track;
- **from the room**: the connection's socket is read by ``rooms.media.fastpath`` (as the
  worker's are), each decrypted Opus packet decoded, resampled to 8 kHz and compressed to
  G.711 by table in the socket callback, and queued for the line.

No thread, no executor, no per-call timer. What stays is the transcoding itself (G.711 <-> Opus,
measured in docs/media.md), which a room of browsers that speak Opus needs."""

from __future__ import annotations

import fractions
import functools
import struct
from collections import deque
from collections.abc import Sequence

import av
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription

from rooms.media.fastpath import install_receive, send_media
from signaling.telephony.rtp import FRAME, SILENCE

BUFFERED = 10          # 200 ms either way at most; older audio is dropped, not delayed
OPUS_CLOCK = 48000     # Opus's RTP clock is 48 kHz whatever the audio's rate (RFC 7587)
OPUS_STEP = OPUS_CLOCK * FRAME // 8000  # 960 ticks per 20 ms packet
OPUS_BITRATE = 24000   # narrowband speech from a phone line needs no more
SENDER_SSRC = "_ssrc"  # aiortc's RTCRtpSender attribute (also the worker's, docs/media.md)
PCM = fractions.Fraction(1, 8000)


@functools.cache
def expand_table(codec: str) -> tuple[bytes, ...]:
    """G.711 byte -> its 16-bit PCM sample (2 bytes, native order), from FFmpeg's codec."""
    decoder = av.CodecContext.create("pcm_mulaw" if codec == "PCMU" else "pcm_alaw", "r")
    decoder.sample_rate, decoder.layout = 8000, "mono"
    frames = decoder.decode(av.Packet(bytes(range(256))))
    pcm = b"".join(bytes(f.planes[0])[: 2 * f.samples] for f in frames)
    return tuple(pcm[2 * i: 2 * i + 2] for i in range(256))


@functools.cache
def compress_table(codec: str) -> bytes:
    """16-bit PCM sample (as an unsigned index) -> its G.711 byte, from FFmpeg's codec."""
    encoder = av.CodecContext.create("pcm_mulaw" if codec == "PCMU" else "pcm_alaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    encoder.time_base = PCM
    frame = av.AudioFrame(format="s16", layout="mono", samples=65536)
    frame.planes[0].update(struct.pack("=65536H", *range(65536)))
    frame.sample_rate, frame.pts, frame.time_base = 8000, 0, PCM
    return b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)])


def expand(table: Sequence[bytes], payload: bytes) -> bytes:
    return b"".join(map(table.__getitem__, payload))


def compress(table: bytes, pcm: bytes) -> bytes:
    return bytes(map(table.__getitem__, memoryview(pcm).cast("H")))


def opus_payload_type(answer_sdp: str) -> int:
    """The payload type the worker's answer gave Opus on the audio m-line."""
    for media in SessionDescription.parse(answer_sdp).media:
        if media.kind == "audio":
            for codec in media.rtp.codecs:
                if codec.mimeType.lower() == "audio/opus" and codec.payloadType is not None:
                    return codec.payloadType
    raise ValueError("the answer has no Opus on an audio m-line")


class LegMedia:
    """One bridged call's audio both ways; ``heard``/``tick`` are the ``RtpLeg``'s hooks."""

    def __init__(self, codec: str) -> None:
        self._expand = expand_table(codec)
        self._compress = compress_table(codec)
        self._silence = SILENCE[codec]
        self._from_phone: deque[bytes] = deque(maxlen=BUFFERED)
        self._to_phone: deque[bytes] = deque(maxlen=BUFFERED)
        self._pending = b""  # decoded room audio not yet a whole 20 ms
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.bit_rate = OPUS_BITRATE
        self._encoder.format, self._encoder.layout = "s16", "mono"
        self._encoder.sample_rate, self._encoder.time_base = 8000, PCM
        # Complexity 1 of 10: a third of the default's CPU (50 against 140-230 us per 20 ms,
        # measured); the source is 8 kHz G.711, narrowband already, so little is lost.
        self._encoder.options = {"application": "voip", "compression_level": "1"}
        self._decoder = av.CodecContext.create("libopus", "r")
        self._decoder.format, self._decoder.layout = "s16", "mono"
        self._decoder.sample_rate = OPUS_CLOCK
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        self._dtls: RTCDtlsTransport | None = None
        self._pt = 0
        self._ssrc = 0
        self._seq = 0
        self._ts = 0
        self._pts = 0
        self._last_seq: int | None = None
        self.sent = 0   # Opus packets sent to the room
        self.heard = 0  # Opus packets from the room decoded for the line

    def attach(self, pc: RTCPeerConnection, answer_sdp: str) -> None:
        """After the worker's answer: send on the audio sender's transport, read its socket."""
        transceiver = next(t for t in pc.getTransceivers() if t.kind == "audio")
        self._dtls = transceiver.sender.transport
        self._pt = opus_payload_type(answer_sdp)
        self._ssrc = int(getattr(transceiver.sender, SENDER_SSRC))
        install_receive(transceiver.receiver.transport, {transceiver.receiver: self.from_room})

    # -- the caller's side (called by the RtpLeg) ---------------------------------------------

    def from_phone(self, payload: bytes, _timestamp: int) -> None:
        self._from_phone.append(payload)

    def tick(self) -> bytes | None:
        """Each 20 ms of the line's pacer: one packet to the room, one frame for the line."""
        self._send(self._from_phone.popleft() if self._from_phone else self._silence)
        return self._to_phone.popleft() if self._to_phone else None

    def _send(self, payload: bytes) -> None:
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(payload))
        frame.planes[0].update(expand(self._expand, payload))
        frame.sample_rate, frame.pts, frame.time_base = 8000, self._pts, PCM
        self._pts += len(payload)
        for packet in self._encoder.encode(frame):
            header = struct.pack("!BBHII", 0x80, self._pt | (0x80 if self.sent == 0 else 0),
                                 self._seq, self._ts, self._ssrc)
            self._seq = (self._seq + 1) & 0xFFFF
            self._ts = (self._ts + OPUS_STEP) & 0xFFFFFFFF
            if self._dtls is not None and send_media(self._dtls, header + bytes(packet)):
                self.sent += 1

    # -- the room's side (the connection's socket callback) -----------------------------------

    def from_room(self, packet: RtpPacket) -> None:
        if packet.payload_type != self._pt or not packet.payload:
            return
        if self._last_seq is not None and (packet.sequence_number - self._last_seq) & 0x8000:
            return  # late (reordered or repeated): the line has moved on
        self._last_seq = packet.sequence_number
        pcm = self._pending
        for frame in self._decoder.decode(av.Packet(packet.payload)):
            for low in self._resampler.resample(frame):
                pcm += bytes(low.planes[0])[: 2 * low.samples]
        self.heard += 1
        whole = len(pcm) - len(pcm) % (2 * FRAME)
        for start in range(0, whole, 2 * FRAME):
            self._to_phone.append(compress(self._compress, pcm[start:start + 2 * FRAME]))
        self._pending = pcm[whole:]
