"""Estimated wait for a queue position (pure).

Method: the agents on duty (available or busy) serve the queue in parallel, each taking a mean
handle time per case; the case at position p waits for ceil(p / agents) service rounds, less one
round when an agent is free right now. With nobody on duty the estimate is unknown (None).
"""

from __future__ import annotations

import math


def estimate_wait_s(
    position: int, agents_on_duty: int, agents_available: int, mean_handle_s: float
) -> int | None:
    if position < 1:
        raise ValueError("position starts at 1")
    if agents_on_duty <= 0:
        return None
    if position <= agents_available:
        return 0
    ahead = position - agents_available
    rounds = math.ceil(ahead / agents_on_duty)
    return int(rounds * mean_handle_s)
