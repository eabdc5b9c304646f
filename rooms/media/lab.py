"""Lab-only loss injection: drop a share of the RTP packets reaching the worker.

Used by the loss tests (PARLEY_LAB_INBOUND_LOSS) to reproduce a lossy uplink in front of the
worker without touching the machine's network: each publication asks ``lose`` for every RTP
packet (RTX included) before it handles it. Off (0.0) unless configured.
"""

from __future__ import annotations

import random


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
