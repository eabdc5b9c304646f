"""When an SMS may be sent and when a failed one is tried again (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

# Per number (providers enforce the same kind of limit on verification codes).
SEND_LIMITS = ((timedelta(minutes=1), 3), (timedelta(hours=1), 10), (timedelta(days=1), 30))
RETRY_AFTER = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1


def within_limits(recent: list[datetime], now: datetime) -> bool:
    return all(sum(1 for t in recent if now - t < window) < limit for window, limit in SEND_LIMITS)


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed tries; None: give up (staff see it failed)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + RETRY_AFTER[attempts - 1]
