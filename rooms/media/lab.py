"""Lab-only loss injection: drop a share of the RTP packets reaching the worker.

Used by the loss tests (PARLEY_LAB_INBOUND_LOSS) to reproduce a lossy uplink in front of the
worker without touching the machine's network. Off (0.0) unless configured.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

HANDLE_RTP = "_handle_rtp_packet"  # the receiver's entry point for every RTP packet (and RTX)


class InboundLoss:
    """Decides which packets are lost: independent drops at ``rate``, seeded for repeatability."""

    def __init__(self, rate: float, seed: int = 2) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"loss rate must be in [0, 1), got {rate}")
        self.rate = rate
        self._rng = random.Random(seed)
        self.dropped = 0
        self.seen = 0

    def lose(self) -> bool:
        self.seen += 1
        lost = self._rng.random() < self.rate
        self.dropped += lost
        return lost


def inject_inbound_loss(receiver: RTCRtpReceiver, loss: InboundLoss) -> None:
    """Wrap ``receiver``'s RTP entry point so that ``loss`` decides which packets arrive."""
    handle: Callable[[RtpPacket, int], Awaitable[None]] = getattr(receiver, HANDLE_RTP)

    async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not loss.lose():
            await handle(packet, arrival_time_ms)

    setattr(receiver, HANDLE_RTP, lossy)
