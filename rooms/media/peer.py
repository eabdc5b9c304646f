"""One participant's peer connection in the worker: what it publishes and what it is sent."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from rooms.media.counters import MediaCounters
from rooms.media.fanout import FanOut, Listener
from rooms.media.forwarding import KEYFRAME_RETRY, ForwardingTrack
from rooms.media.passthrough import ReceiverState
from rooms.media.receiver_patches import ResendingNackGenerator
from rooms.messages import ParticipantId

logger = logging.getLogger(__name__)

PLI_MIN_INTERVAL = 0.1  # one keyframe request per publisher track per 100 ms, at most

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Publication:
    """A participant's incoming track of one kind: the receiver hands its packets to
    ``fanout`` on the event loop (``rooms.media.delivery``), which passes them to subscribers
    and listeners."""

    def __init__(self, kind: str, receiver: RTCRtpReceiver, state: ReceiverState,
                 nacks: ResendingNackGenerator | None, counters: MediaCounters, spawn: Spawn,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self.receiver = receiver
        self.state = state
        self.nacks = nacks
        self.fanout = FanOut(kind)
        self._counters = counters
        self._spawn = spawn
        self._clock = clock
        self._last_pli = float("-inf")

    def subscribe(self) -> MediaStreamTrack | None:
        """A new subscriber track of the incoming media, or None when nothing is received
        (the browser's offer sends nothing on this transceiver)."""
        if self.receiver.track is None:
            return None
        return self.fanout.subscribe()

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` on the event loop with every packet from now on; it must return
        at once (the recorder's tap)."""
        self.fanout.listen(listener)

    def request_keyframe(self) -> None:
        """Send the publisher a PLI, at most one per ``PLI_MIN_INTERVAL``."""
        ssrc = self.state.media_ssrc
        now = self._clock()
        if self.kind != "video" or ssrc is None or now - self._last_pli < PLI_MIN_INTERVAL:
            return
        self._last_pli = now
        self._counters.keyframe_requested()
        self._spawn(self.receiver._send_rtcp_pli(ssrc))

    async def tick(self, now: float) -> None:
        """Periodic duties: NACK still-missing packets again; keep asking for a keyframe while
        the decoder side waits for one."""
        ssrc = self.state.media_ssrc
        if ssrc is None:
            return
        if self.nacks is not None:
            lost = self.nacks.due(now)
            if lost:
                await self.receiver._send_rtcp_nack(ssrc, lost)
        if (self.kind == "video" and self.state.awaiting_keyframe
                and now - self._last_pli >= KEYFRAME_RETRY):
            self.request_keyframe()


class Peer:
    """A participant's one ``RTCPeerConnection``: its publications (what the browser sends)
    and forwarding tracks (what the worker sends back on the same transceivers)."""

    def __init__(self, participant_id: ParticipantId, pc: RTCPeerConnection) -> None:
        self.participant_id = participant_id
        self.pc = pc
        self.publications: dict[str, Publication] = {}
        self.forwarders: dict[str, ForwardingTrack] = {}
        self._closed = False

    async def close(self) -> None:
        """Stop the forwarding tracks and close the peer connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        for track in self.forwarders.values():
            track.stop()
        try:
            await self.pc.close()
        except Exception:  # a half-negotiated connection may fail to close cleanly
            logger.exception("closing the peer connection of %s failed", self.participant_id)
