"""One subscriber transceiver's outgoing stream: RTP packets forwarded as they arrive.

The worker's ``RTCRtpSender`` keeps its SSRC, its transport and its RTCP task, but never packs
or sends media itself: its track is an ``IdleTrack`` that yields nothing. Instead the
publication hands each received (decrypted, parsed) RTP packet to ``OutStream.forward``, which
rewrites it (``rooms.media.rewrite``: SSRC, sequence number, timestamp, VP8 picture ID, payload
type and header extensions as this subscriber negotiated them), keeps it in a short cache and
sends it on the subscriber's transport (``rooms.media.fastpath``: encrypted and sent at once,
not through aiortc's coroutines). The subscriber's RTCP for this
SSRC comes to ``_on_rtcp``: NACKs are answered from the cache, PLI/FIR go to the publisher
(rate-limited there), REMB is kept for the publisher's bitrate (``latest_remb``). Sender reports
are rewritten from the publisher's own (so the browser keeps audio and video in sync), and left
out until there is one.

aiortc private names used here are listed in docs/media.md and pinned by
tests/rooms/test_media_canary.py.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from rooms.media.counters import MediaCounters
from rooms.media.fastpath import send_media, send_rtp
from rooms.media.link import LinkGuard, LinkState
from rooms.media.rewrite import StreamRewriter

KEYFRAME_RETRY = 0.3   # while a new source's keyframe is awaited, ask again this often
CACHE_PACKETS = 512    # about 2 s of 640x480 video: NACKs come within a round trip or two
NTP_PER_SECOND = 1 << 32

# The sender's private parts this module takes over (see test_media_canary.py).
SENDER_KEYFRAME_HOOK = "_send_keyframe"
SENDER_RTCP_IN = "_handle_rtcp_packet"
SENDER_RTCP_OUT = "_send_rtcp"

_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_HEADER = struct.Struct("!BBHLL")
_EXT_HEADER = struct.Struct("!HH")


class Source(Protocol):
    """The publication behind an out-stream, as the out-stream sees it."""

    def request_keyframe(self, out: OutStream | None = None) -> None:
        """A keyframe (for the simulcast layer ``out`` gets or waits for)."""

    def sender_report(self, out: OutStream | None = None) -> tuple[int, int, float, int] | None:
        """The publisher's latest (NTP time, RTP timestamp, local arrival, clock rate), of
        the simulcast layer ``out`` gets."""

    def on_remb(self) -> None:
        """A subscriber's bandwidth estimate changed."""

    def remove_subscriber(self, out: OutStream) -> None: ...

    def add_subscriber(self, out: OutStream) -> None: ...


class IdleTrack(MediaStreamTrack):
    """The sender's track: yields nothing until stopped (the sender then ends quietly), so
    aiortc's own RTP loop waits without a timer."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._ended = asyncio.Event()

    async def recv(self) -> Any:
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()


class OutStream:
    """Forwards one publication's packets (or nothing) on one of a subscriber's senders."""

    def __init__(self, kind: str, sender: RTCRtpSender, counters: MediaCounters,
                 clock: Callable[[], float] = time.monotonic,
                 on_link: Callable[[LinkState], None] | None = None,
                 siblings: Callable[[], int] | None = None,
                 relays_remb: Callable[[], bool] | None = None,
                 estimate_cap: Callable[[int], int] | None = None) -> None:
        self.kind = kind
        self._estimate_cap = estimate_cap  # lab only (rooms.media.lab.EstimateCap)
        # Whether this subscriber's estimate may cap the publisher (1:1 calls; see local.py).
        self._relays_remb = relays_remb
        # How many video streams the subscriber's transport carries now: its REMB is their sum.
        self._siblings = siblings
        #: Video only: whether this subscriber's link still carries video (``rooms.media.link``).
        self.link = LinkGuard(clock()) if kind == "video" else None
        self._on_link = on_link
        self.sender = sender
        self.publisher: Source | None = None
        self.rewriter = StreamRewriter(kind)
        self.latest_remb: tuple[int, float] | None = None  # (bit/s, when)
        self.latest_loss = 0.0  # the share of this stream's packets the subscriber lost
        #: Lab only: this subscriber's estimates are taken as at most this (bit/s).
        self.lab_estimate_cap: int | None = None
        self._counters = counters
        self._clock = clock
        self._ssrc: int = sender._ssrc
        self._payload_types: dict[str, int] = {}
        self._mid_ext = b""
        self._abs_id = 0
        self._level_id = 0
        self._negotiated = False
        self._cache: list[tuple[int, bytes] | None] = [None] * CACHE_PACKETS
        self._last_request = float("-inf")
        self.packets_sent = 0
        self.octets_sent = 0
        self._track = IdleTrack(kind)
        sender.replaceTrack(self._track)
        send = sender.send

        async def send_with(parameters: RTCRtpSendParameters) -> None:
            self._negotiate(parameters)
            await send(parameters)

        sender.send = send_with  # type: ignore[method-assign]
        rtcp_in: Callable[[AnyRtcpPacket], Awaitable[None]] = getattr(sender, SENDER_RTCP_IN)
        self._stock_rtcp_in = rtcp_in
        setattr(sender, SENDER_RTCP_IN, self._on_rtcp)
        setattr(sender, SENDER_RTCP_OUT, self._send_rtcp)
        setattr(sender, SENDER_KEYFRAME_HOOK, self.request_keyframe)

    def _negotiate(self, parameters: RTCRtpSendParameters) -> None:
        """What this subscriber negotiated: payload types by codec, header extension IDs."""
        self._payload_types = {}
        for codec in parameters.codecs:
            if codec.payloadType is not None:
                self._payload_types.setdefault(codec.mimeType.lower(), codec.payloadType)
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        mid = (parameters.muxId or "").encode()
        self._mid_ext = (bytes([ids[_MID] << 4 | (len(mid) - 1)]) + mid
                         if _MID in ids and mid else b"")
        self._abs_id = ids.get(_ABS_SEND_TIME, 0)
        self._level_id = ids.get(_AUDIO_LEVEL, 0) if self.kind == "audio" else 0
        self._negotiated = True

    def attach(self, source: Source | None) -> None:
        """Forward ``source`` from now on (None: nothing). Video waits for a keyframe."""
        if self.publisher is not None:
            self.publisher.remove_subscriber(self)
        self.publisher = source
        self.rewriter.switch(source)
        if source is not None:
            source.add_subscriber(self)
            if self.kind == "video":
                self._ask_keyframe(self._clock())

    def estimate_share(self, now: float, fresh: float) -> int | None:
        """This stream's share of the subscriber's latest estimate (REMB is for everything the
        transport carries), or None if there is none as recent as ``fresh`` seconds."""
        if self._relays_remb is not None and not self._relays_remb():
            return None
        return self.own_share(now, fresh)

    def own_share(self, now: float, fresh: float) -> int | None:
        """``estimate_share`` whether or not it may cap the publisher (a simulcast layer is
        chosen from it)."""
        if self.latest_remb is None or now - self.latest_remb[1] >= fresh:
            return None
        streams = max(1, self._siblings()) if self._siblings is not None else 1
        return self.latest_remb[0] // streams

    def stop(self) -> None:
        self.attach(None)
        self._track.stop()

    def request_keyframe(self) -> None:
        """The subscriber's PLI/FIR (the sender's keyframe hook)."""
        if self.publisher is not None:
            self.publisher.request_keyframe(self)

    def _ask_keyframe(self, now: float) -> None:
        self._last_request = now
        self.request_keyframe()

    def forward(self, packet: RtpPacket, codec: RTCRtpCodecParameters, now: float) -> None:
        """Send ``packet`` (the publisher's, after RTX is unwrapped) to this subscriber."""
        if not self._negotiated or (self.link is not None and not self.link.sends_video):
            return
        out = self.rewriter.rewrite(packet.sequence_number, packet.timestamp, packet.payload,
                                    codec.clockRate, now)
        if out is None:
            if self.rewriter.awaiting_keyframe and now - self._last_request >= KEYFRAME_RETRY:
                self._ask_keyframe(now)
            return
        payload_type = self._payload_types.get(codec.mimeType.lower())
        if payload_type is None:
            return
        ext = self._mid_ext
        extensions = packet.extensions
        if self._abs_id and extensions.abs_send_time is not None:
            # Passed on as the publisher stamped it: the subscriber's estimate then covers
            # the whole path, publisher to subscriber.
            ext += bytes([self._abs_id << 4 | 2]) + extensions.abs_send_time.to_bytes(3, "big")
        if self._level_id and extensions.audio_level is not None:
            voice, level = extensions.audio_level
            ext += bytes([self._level_id << 4, (0x80 if voice else 0) | level])
        padding = packet.padding_size
        first = 0xA0 if padding else 0x80
        if ext:
            ext += b"\x00" * (-len(ext) % 4)
            first |= 0x10
        seq, timestamp, payload = out
        header = _HEADER.pack(first, packet.marker << 7 | payload_type, seq, timestamp,
                              self._ssrc)
        parts = [header]
        if ext:
            parts += (_EXT_HEADER.pack(0xBEDE, len(ext) >> 2), ext)
        parts.append(payload)
        if padding:
            parts.append(b"\x00" * (padding - 1) + bytes([padding]))
        data = b"".join(parts)  # one copy of the payload, not one per part added
        self._cache[seq % CACHE_PACKETS] = (seq, data)
        self.packets_sent += 1
        self.octets_sent += len(payload)
        if packet.marker or self.kind == "audio":
            self._counters.forwarded(self.kind)
        self._send(data)

    def _send(self, data: bytes) -> None:
        """One RTP packet (forwarded, or sent again for a NACK)."""
        # Not connected yet, or gone: the packet is lost, as on any network.
        send_media(self.sender.transport, data)

    async def _on_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            for seq in packet.lost:
                entry = self._cache[seq % CACHE_PACKETS]
                if entry is not None and entry[0] == seq:
                    self._send(entry[1])
            return
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self._ssrc in ssrcs:
                if self.lab_estimate_cap is not None:
                    bitrate = min(bitrate, self.lab_estimate_cap)
                now = self._clock()
                self.latest_remb = (bitrate, now)
                if self.link is not None:
                    seen = self._estimate_cap(bitrate) if self._estimate_cap else bitrate
                    self._link_changed(self.link.observe(now, estimate=seen))
                if self.publisher is not None:
                    self.publisher.on_remb()
            return
        if self.link is not None and isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == self._ssrc:
                    self.latest_loss = report.fraction_lost / 256
                    self._link_changed(self.link.observe(
                        self._clock(), loss=report.fraction_lost / 256))
        await self._stock_rtcp_in(packet)  # reports (statistics), PLI and FIR

    def tick(self, now: float) -> None:
        """Periodic duty: the link's timers (the audio-only fallback and its trials)."""
        if self.link is not None:
            self._link_changed(self.link.tick(now))

    def fall_back(self) -> None:
        """Stop video because the call went audio only on another stream (``LinkGuard``)."""
        if self.link is not None:
            self._link_changed(self.link.fall_back(self._clock()))

    def try_again(self) -> None:
        """Try video again because the call's other stream does (``LinkGuard.try_again``)."""
        if self.link is not None:
            self._link_changed(self.link.try_again(self._clock()))

    def _link_changed(self, state: LinkState | None) -> None:
        if state is None:
            return
        if state is LinkState.TRIAL and self.publisher is not None:
            # Video again, from a keyframe, numbered on from where it stopped.
            self.rewriter.switch(self.publisher)
            self._ask_keyframe(self._clock())
        if self._on_link is not None:
            self._on_link(state)

    def _sender_report(self) -> RtcpSrPacket | None:
        report = self.publisher.sender_report(self) if self.publisher is not None else None
        if report is None or not self.rewriter.started:
            return None
        ntp, rtp, arrival, clock_rate = report
        elapsed = max(0.0, self._clock() - arrival)
        source_ts = (rtp + round(elapsed * clock_rate)) & 0xFFFFFFFF
        return RtcpSrPacket(ssrc=self._ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=(ntp + int(elapsed * NTP_PER_SECOND)) & 0xFFFFFFFFFFFFFFFF,
            rtp_timestamp=self.rewriter.output_timestamp(source_ts),
            packet_count=self.packets_sent & 0xFFFFFFFF,
            octet_count=self.octets_sent & 0xFFFFFFFF))

    async def _send_rtcp(self, packets: list[AnyRtcpPacket]) -> None:
        """The sender's periodic report: its own counters are unused, so its SR is replaced."""
        out: list[AnyRtcpPacket] = []
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                report = self._sender_report()
                if report is None:
                    return  # no SR to give yet; a compound packet must not start without one
                packet = report
            out.append(packet)
        if out:
            send_rtp(self.sender.transport, b"".join(bytes(p) for p in out))
