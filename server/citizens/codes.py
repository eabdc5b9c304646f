"""One-time sign-in codes (pure): how long one lives, how many tries it takes, how often one may
be sent to a number. Codes are stored as an HMAC, never in clear."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5  # wrong codes before the code is spent
# Sends per number (verification codes are limited by number at every Chinese SMS provider).
SEND_LIMITS = ((timedelta(minutes=1), 1), (timedelta(hours=1), 5), (timedelta(days=1), 10))


def digest(key: bytes, phone: str, code: str) -> str:
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def may_send(previous: list[datetime], now: datetime) -> timedelta | None:
    """None when a code may be sent now; else how long until one may."""
    for window, limit in SEND_LIMITS:
        recent = sorted(t for t in previous if now - t < window)
        if len(recent) >= limit:
            return recent[-limit] + window - now
    return None


@dataclass(frozen=True)
class Check:
    ok: bool
    spent: bool  # the code can no longer be used (right, expired or out of tries)


def check(*, stored_digest: str, given_digest: str, sent_at: datetime, tries: int, used: bool,
          now: datetime) -> Check:
    if used or tries >= MAX_TRIES or now - sent_at > CODE_TTL:
        return Check(ok=False, spent=True)
    if hmac.compare_digest(stored_digest, given_digest):
        return Check(ok=True, spent=True)
    return Check(ok=False, spent=tries + 1 >= MAX_TRIES)
