"""Lab-only hooks: a lossy uplink, a narrow downlink, without touching the machine's network.

- ``InboundLoss`` (PARLEY_LAB_INBOUND_LOSS, the loss tests): drop a share of the RTP packets
  reaching the worker; each publication asks ``lose`` for every RTP packet (RTX included)
  before it handles it. Off (0.0) unless configured.
- ``EstimateCap`` (PARLEY_LAB_ESTIMATE_CAP_FILE, the audio-only fallback's browser test): the
  subscriber estimates the link guards see (``rooms.media.link``) are capped at the bit/s
  written in a file, as a narrow downlink would hold them; the browsers and the estimates
  relayed to publishers are untouched. The test writes the file to narrow the link and empties
  it to widen it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path


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


class EstimateCap:
    """The cap written in ``path`` (an integer, bit/s; no file or an empty one: no cap), read
    at most every ``REREAD`` s: a REMB comes about 4 times a second per stream."""

    REREAD = 0.2

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._read_at = float("-inf")
        self._cap: int | None = None

    def _current(self) -> int | None:
        now = self._clock()
        if now - self._read_at >= self.REREAD:
            self._read_at = now
            try:
                text = self._path.read_text().strip()
            except OSError:
                text = ""
            self._cap = int(text) if text.isdigit() else None
        return self._cap

    def apply(self, estimate: int) -> int:
        cap = self._current()
        return estimate if cap is None else min(estimate, cap)
