"""A token bucket per connection: floods are slowed (refused), then cut off (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    ALLOW = "allow"
    REFUSE = "refuse"
    DISCONNECT = "disconnect"


@dataclass
class TokenBucket:
    rate: float = 20.0  # events per second, sustained
    burst: float = 60.0
    cut_off_after: int = 200  # refused events in a row before the connection is dropped
    tokens: float = 60.0
    updated: float = 0.0
    refused: int = 0

    def take(self, now: float) -> Verdict:
        if self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.refused = 0
            return Verdict.ALLOW
        self.refused += 1
        return Verdict.DISCONNECT if self.refused >= self.cut_off_after else Verdict.REFUSE
