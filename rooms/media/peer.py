"""One participant's peer connection in the worker: what it publishes and what it is sent.

A ``Publication`` takes over its receiver's RTP entry point (``_handle_rtp_packet``): each
decrypted, parsed packet feeds the statistics aiortc's receiver reports are made from, the
bitrate estimate (REMB) and the NACK generator, and is then forwarded as it is to every
subscribed ``OutStream``. No depacketising, no jitter buffer, no frame on that path. Only
while a listener wants frames (the recorder, for a participant being recorded) are the same
packets also assembled into frames, after forwarding (``_assemble``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.codecs import depayload, is_rtx
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver, StreamStatistics, TimestampMapper
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

from rooms.media.bitrate import LeanBitrateEstimator
from rooms.media.counters import MediaCounters
from rooms.media.delivery import DECODER_QUEUE_ATTR, InlineFrameQueue
from rooms.media.fanout import FanOut, Listener
from rooms.media.fastpath import send_rtp
from rooms.media.lab import InboundLoss
from rooms.media.outstream import KEYFRAME_RETRY, OutStream
from rooms.media.passthrough import ReceiverState
from rooms.media.receiver_patches import (
    OpusPassThroughBuffer,
    ResendingNackGenerator,
    StallCappedJitterBuffer,
)
from rooms.media.simulcast import LayerChooser, LayerRates, Layers, LayerSwitch
from rooms.messages import ParticipantId

logger = logging.getLogger(__name__)

PLI_MIN_INTERVAL = 0.1  # one keyframe request per publisher track per 100 ms, at most
REMB_FRESH = 3.0        # a subscriber's estimate counts this long after it arrived
REMB_RELAY_EVERY = 1.0  # pass a subscriber's estimate upstream at least this often

# The receiver's private parts taken over here (see tests/rooms/test_media_canary.py).
RECEIVER_RTP_IN = "_handle_rtp_packet"
RECEIVER_RTCP_IN = "_handle_rtcp_packet"
RECEIVER_STREAMS = "_RTCRtpReceiver__remote_streams"
RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"

Spawn = Callable[[Coroutine[Any, Any, None]], None]
Active = Callable[[], bool]


class Publication:
    """A participant's incoming track of one kind, forwarded packet by packet."""

    def __init__(self, kind: str, receiver: RTCRtpReceiver, state: ReceiverState,
                 counters: MediaCounters, spawn: Spawn,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self.receiver = receiver
        self.state = state
        self.fanout = FanOut(kind)
        self.subscribers: list[OutStream] = []
        self.nacks = ResendingNackGenerator(clock) if kind == "video" else None
        self.inbound_loss: InboundLoss | None = None  # lab only: drop this share of packets
        self._estimator = LeanBitrateEstimator() if kind == "video" else None
        self._counters = counters
        self._spawn = spawn
        self._clock = clock
        self._last_pli = float("-inf")
        # Simulcast (rooms.media.simulcast): the layers' SSRCs from the offer, their rates,
        # and per subscriber the layer it gets; NACKs, PLIs and SRs are per layer SSRC.
        self.layers: Layers | None = None
        self._rates = LayerRates(0)
        self._switches: dict[OutStream, tuple[LayerSwitch, LayerChooser]] = {}
        self._layer_nacks: dict[int, ResendingNackGenerator] = {}
        self._layer_pli: dict[int, float] = {}
        self._reports: dict[int, tuple[int, int, float, int]] = {}
        self._recorded_layer: int | None = None
        self._codecs: dict[int, RTCRtpCodecParameters] = {}
        self._rtx_types: frozenset[int] = frozenset()  # payload types that are RTX
        self._rtx_ssrc: dict[int, int] = {}
        self._streams: dict[int, StreamStatistics] = getattr(receiver, RECEIVER_STREAMS)
        self._report: tuple[int, int, float, int] | None = None
        self._own_estimate: int | None = None
        self._subscribers_report_until = float("-inf")
        self._remb_sent: tuple[int, float] | None = None
        # Frame assembly, for listeners only (the recorder), after the batch being forwarded.
        self._active: list[Active] = []
        self._assembling = False
        self._pending: list[tuple[RtpPacket, RTCRtpCodecParameters]] = []
        self._drain_scheduled = False
        self._jitter: JitterBuffer | None = None
        self._timestamps = TimestampMapper()
        self._frames = InlineFrameQueue(state, self.fanout.deliver)
        setattr(receiver, DECODER_QUEUE_ATTR, self._frames)  # the end of the stream, still
        receive = receiver.receive

        async def receive_with(parameters: RTCRtpReceiveParameters) -> None:
            self._codecs = {codec.payloadType: codec for codec in parameters.codecs
                            if codec.payloadType is not None}
            self._rtx_ssrc = {e.rtx.ssrc: e.ssrc for e in parameters.encodings if e.rtx}
            self._rtx_types = frozenset(pt for pt, codec in self._codecs.items()
                                        if is_rtx(codec))
            await receive(parameters)

        receiver.receive = receive_with  # type: ignore[method-assign]
        setattr(receiver, RECEIVER_RTP_IN, self.handle_rtp)
        self._stock_rtcp_in = getattr(receiver, RECEIVER_RTCP_IN)
        setattr(receiver, RECEIVER_RTCP_IN, self._on_rtcp)

    @property
    def received(self) -> bool:
        """Whether the browser's offer sends anything on this transceiver."""
        return self.receiver.track is not None

    def add_subscriber(self, out: OutStream) -> None:
        if out not in self.subscribers:
            self.subscribers.append(out)
        if self.layers is not None and out not in self._switches:
            self._add_switch(out)

    def remove_subscriber(self, out: OutStream) -> None:
        if out in self.subscribers:
            self.subscribers.remove(out)
        self._switches.pop(out, None)

    def set_layers(self, layers: Layers | None) -> None:
        """The publisher's simulcast layers (from its offer; None: one stream)."""
        if self.kind != "video" or layers is None:
            return
        self.layers = layers
        self._rates = LayerRates(len(layers.media))
        for out in self.subscribers:
            self._add_switch(out)

    def _add_switch(self, out: OutStream) -> None:
        def ask(layer: int) -> None:
            self._request_layer_keyframe(layer)

        self._switches[out] = (LayerSwitch(out.rewriter, ask), LayerChooser(self._clock()))

    def layer_of(self, out: OutStream) -> int | None:
        """The simulcast layer ``out`` is forwarded now (None: no simulcast, or none yet)."""
        entry = self._switches.get(out)
        return entry[0].current if entry is not None else None

    def listen(self, listener: Listener, active: Active) -> None:
        """Call ``listener`` on the event loop with every assembled frame (as an
        ``av.Packet``) while ``active()`` holds; it must return at once (the recorder)."""
        self.fanout.listen(listener)
        self._active.append(active)

    # -- the forward path ------------------------------------------------------------------

    async def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """Stands in for the receiver's ``_handle_rtp_packet`` (aiortc's DTLS task calls it
        for packets that came before ``rooms.media.fastpath`` took over the socket)."""
        self.on_rtp(packet, arrival_time_ms)

    def on_rtp(self, packet: RtpPacket, arrival_time_ms: int | None = None) -> None:
        """One decrypted RTP packet from the publisher, on the event loop."""
        if self.inbound_loss is not None and self.inbound_loss.lose():
            return
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        stats = self._streams.get(packet.ssrc)
        if stats is None:
            stats = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)  # what aiortc's receiver reports to the publisher are made from
        now = self._clock()
        if (self._estimator is not None and packet.extensions.abs_send_time is not None
                and now >= self._subscribers_report_until):
            # Nobody downstream reports an estimate (alone in the room, or only recorded):
            # the worker estimates the uplink itself, as aiortc's receiver does.
            remb = self._estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=(arrival_time_ms if arrival_time_ms is not None
                                 else int(time.time() * 1000)),
                payload_size=len(packet.payload) + packet.padding_size, ssrc=packet.ssrc)
            if remb is not None:
                self._own_estimate = remb[0]
                self._send_remb(now)
        if packet.payload_type in self._rtx_types:
            original = self._rtx_ssrc.get(packet.ssrc)
            if original is None and self.layers is not None:
                original = self.layers.rtx.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if (original is None or len(packet.payload) < 2 or not isinstance(apt, int)
                    or apt not in self._codecs):
                return  # padding for bandwidth probing, or nothing known to repair
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original)
            codec = self._codecs[apt]
        else:
            self.state.media_ssrc = packet.ssrc
        layer = self.layers.index(packet.ssrc) if self.layers is not None else None
        if layer is None:
            if self.nacks is not None and self.nacks.add(packet):
                self._send_nack(packet.ssrc, sorted(self.nacks.missing))
            for out in tuple(self.subscribers):
                out.forward(packet, codec, now)
        elif not self._forward_layer(packet, codec, layer, now):
            return  # not this recording's layer
        if self._active and self._wants_frames():
            # Off the forward path: assembled once the socket's batch has been forwarded, so
            # recording never delays a packet another browser is waiting for.
            self._pending.append((packet, codec))
            if not self._drain_scheduled:
                self._drain_scheduled = True
                asyncio.get_running_loop().call_soon(self._drain)
        elif self._assembling:
            self._assembling = False
            self._jitter = None
            self._pending.clear()

    def _forward_layer(self, packet: RtpPacket, codec: RTCRtpCodecParameters, layer: int,
                       now: float) -> bool:
        """A simulcast layer's packet: to the subscribers on that layer (a subscriber waiting
        to switch to it switches at its keyframe). True when the recorder takes it too: the
        recorder takes the highest layer arriving (checked every tick), started afresh (from
        a keyframe) when that changes."""
        self._rates.add(layer, len(packet.payload) + 12, now)
        nacks = self._layer_nacks.get(packet.ssrc)
        if nacks is None:
            nacks = self._layer_nacks[packet.ssrc] = ResendingNackGenerator(self._clock)
        if nacks.add(packet):
            self._send_nack(packet.ssrc, sorted(nacks.missing))
        for out in tuple(self.subscribers):
            entry = self._switches.get(out)
            if entry is not None and entry[0].admit(layer, packet.payload, self, now):
                out.forward(packet, codec, now)
        # The first layer seen until the first tick says which is the highest.
        if self._recorded_layer is None:
            self._recorded_layer = layer
        return layer == self._recorded_layer

    def _drain(self) -> None:
        self._drain_scheduled = False
        pending, self._pending = self._pending, []
        for packet, codec in pending:
            try:
                self._assemble(packet, codec)
            except Exception:  # one bad frame must not stop the recording of the rest
                logger.exception("assembling a frame for the recorder failed")

    # -- frames for listeners, off the forward path ---------------------------------------

    def _wants_frames(self) -> bool:
        return any(active() for active in self._active)

    def _assemble(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        if not self._assembling:
            # A fresh start: whatever the buffer held from an earlier recording is stale.
            self._assembling = True
            self.state.awaiting_keyframe = True
            self._timestamps = TimestampMapper()
            self._jitter = (StallCappedJitterBuffer(self.state, self.request_keyframe,
                                                    self._clock)
                            if self.kind == "video" else OpusPassThroughBuffer(self.state))
        assert self._jitter is not None
        try:
            packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        except ValueError:
            return
        picture_loss, frame = self._jitter.add(packet)
        if picture_loss:
            self.request_keyframe()
        if frame is not None:
            frame.timestamp = self._timestamps.map(frame.timestamp)
            self._frames.put((codec, frame))

    # -- RTCP --------------------------------------------------------------------------------

    async def _on_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket):
            rate = next((c.clockRate for c in self._codecs.values() if not is_rtx(c)), 90000)
            self._report = (packet.sender_info.ntp_timestamp, packet.sender_info.rtp_timestamp,
                            self._clock(), rate)
            if self.layers is not None:
                self._reports[packet.ssrc] = self._report
        await self._stock_rtcp_in(packet)

    def sender_report(self, out: OutStream | None = None) -> tuple[int, int, float, int] | None:
        """The publisher's latest SR; with simulcast, that of the layer ``out`` gets (each
        layer has its own RTP timestamps)."""
        if self.layers is not None:
            layer = self.layer_of(out) if out is not None else None
            if layer is None:
                return None
            return self._reports.get(self.layers.media[layer])
        return self._report

    def on_remb(self) -> None:
        """A subscriber's estimate arrived: pass it upstream when it is lower than what the
        publisher was last told, or at least every ``REMB_RELAY_EVERY``."""
        if self.kind != "video":
            return
        now = self._clock()
        estimate = self._subscriber_estimate(now)
        if estimate is None:
            return
        if now >= self._subscribers_report_until:
            # Subscribers estimate the whole path (the publisher's send times are passed on):
            # the worker's own estimate pauses; it starts afresh if they all go quiet.
            self._estimator = LeanBitrateEstimator()
            self._own_estimate = None
        self._subscribers_report_until = now + REMB_FRESH
        last = self._remb_sent
        if last is None or estimate < last[0] * 0.97 or now - last[1] >= REMB_RELAY_EVERY:
            self._send_remb(now)

    def _subscriber_estimate(self, now: float) -> int | None:
        shares = [out.estimate_share(now, REMB_FRESH) for out in self.subscribers
                  if out.link is None or out.link.holds_publisher_back]
        fresh = [share for share in shares if share is not None]
        return min(fresh) if fresh else None

    def _send_rtcp(self, packet: AnyRtcpPacket) -> None:
        send_rtp(self.receiver.transport, bytes(packet))

    def _send_nack(self, media_ssrc: int, lost: list[int]) -> None:
        rtcp_ssrc = getattr(self.receiver, RECEIVER_RTCP_SSRC)
        if rtcp_ssrc is not None:
            nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=rtcp_ssrc, media_ssrc=media_ssrc)
            nack.lost = lost
            self._send_rtcp(nack)

    def _send_remb(self, now: float) -> None:
        """Tell the publisher the least of the worker's own estimate of its uplink and its
        subscribers' estimates of theirs (the sending browser adapts its encoder to it)."""
        ssrc = self.state.media_ssrc
        rtcp_ssrc = getattr(self.receiver, RECEIVER_RTCP_SSRC)
        wanted = [b for b in (self._own_estimate, self._subscriber_estimate(now)) if b]
        if ssrc is None or rtcp_ssrc is None or not wanted:
            return
        bitrate = min(wanted)
        self._remb_sent = (bitrate, now)
        ssrcs = list(self.layers.media) if self.layers is not None else [ssrc]
        self._send_rtcp(RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
            fci=pack_remb_fci(bitrate, ssrcs)))

    @property
    def remb_sent(self) -> int | None:
        """The last bitrate the publisher was told (bit/s)."""
        return self._remb_sent[0] if self._remb_sent else None

    def request_keyframe(self, out: OutStream | None = None) -> None:
        """Send the publisher a PLI, at most one per ``PLI_MIN_INTERVAL``; with simulcast,
        for the layer ``out`` gets or waits for (no ``out``: the recorder's layer)."""
        if self.layers is not None:
            entry = self._switches.get(out) if out is not None else None
            layer = entry[0].keyframe_layer() if entry is not None else self._recorded_layer
            self._request_layer_keyframe(layer if layer is not None
                                         else len(self.layers.media) - 1)
            return
        ssrc = self.state.media_ssrc
        now = self._clock()
        if self.kind != "video" or ssrc is None or now - self._last_pli < PLI_MIN_INTERVAL:
            return
        self._last_pli = now
        self._counters.keyframe_requested()
        self._spawn(self.receiver._send_rtcp_pli(ssrc))

    def _request_layer_keyframe(self, layer: int) -> None:
        """A PLI for one simulcast layer's SSRC (Chromium then encodes a keyframe of that
        layer only), at most one per ``PLI_MIN_INTERVAL`` per layer."""
        assert self.layers is not None
        ssrc = self.layers.media[layer]
        now = self._clock()
        if now - self._layer_pli.get(ssrc, float("-inf")) < PLI_MIN_INTERVAL:
            return
        self._layer_pli[ssrc] = now
        self._last_pli = now
        self._counters.keyframe_requested()
        self._spawn(self.receiver._send_rtcp_pli(ssrc))

    def _choose_layers(self, now: float) -> None:
        rates = self._rates.rates(now)
        recorded = self._rates.highest(now)
        if recorded is not None and recorded != self._recorded_layer:
            # The recorder's layer changed: its frames start afresh, from a keyframe.
            self._recorded_layer = recorded
            self._assembling = False
            self._pending.clear()
        for out, (switch, chooser) in list(self._switches.items()):
            estimate = out.own_share(now, REMB_FRESH)
            before = switch.target
            switch.want(chooser.update(now, estimate, out.latest_loss, rates), now)
            if switch.target != before:
                logger.info("simulcast: a subscriber's layer is now %s (estimate %s bit/s, "
                            "loss %.2f, layer rates %s)", switch.target, estimate,
                            out.latest_loss, rates)

    async def tick(self, now: float) -> None:
        """Periodic duties: NACK still-missing packets again; while frames are assembled,
        keep asking for a keyframe as long as the assembly waits for one; with simulcast,
        each subscriber's layer."""
        if self.layers is not None:
            self._choose_layers(now)
            for layer_ssrc, nacks in self._layer_nacks.items():
                lost = nacks.due(now)
                if lost:
                    self._send_nack(layer_ssrc, lost)
        ssrc = self.state.media_ssrc
        if ssrc is None:
            return
        if self.nacks is not None:
            lost = self.nacks.due(now)
            if lost:
                self._send_nack(ssrc, lost)
        if (self.kind == "video" and self._assembling and self.state.awaiting_keyframe
                and now - self._last_pli >= KEYFRAME_RETRY):
            self.request_keyframe()


class Peer:
    """A participant's one ``RTCPeerConnection``: its publications (what the browser sends)
    and out-streams (what the worker sends back on the same transceivers)."""

    def __init__(self, participant_id: ParticipantId, pc: RTCPeerConnection) -> None:
        self.participant_id = participant_id
        self.pc = pc
        self.publications: dict[str, Publication] = {}
        self.forwarders: dict[str, OutStream] = {}
        self._closed = False

    def out_streams(self) -> list[OutStream]:
        """Every stream the worker sends this participant."""
        return list(self.forwarders.values())

    async def close(self) -> None:
        """Stop the out-streams and close the peer connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        for out in self.forwarders.values():
            out.stop()
        try:
            await self.pc.close()
        except Exception:  # a half-negotiated connection may fail to close cleanly
            logger.exception("closing the peer connection of %s failed", self.participant_id)
