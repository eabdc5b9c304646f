"""Callbacks dialled through the trunk: what a SIP final status means and when to try again
(pure data and rules; the desk dials and records)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    VOICEMAIL = "voicemail"  # answered by a machine (signaling.telephony.amd): hung up
    BUSY = "busy"
    NO_ANSWER = "no_answer"  # rang out, or the callee's phone is off / unreachable
    REJECTED = "rejected"  # declined, or a number that cannot be called
    FAILED = "failed"  # the trunk or the network


@dataclass(frozen=True)
class RetryRule:
    attempts: int  # tries in all, the first included
    after_s: float  # wait before the next


# Retry rules as data: a deployment may change them (docs/telephony.md, "Callbacks").
RETRY_RULES: dict[Outcome, RetryRule] = {
    Outcome.BUSY: RetryRule(attempts=3, after_s=120.0),
    Outcome.NO_ANSWER: RetryRule(attempts=3, after_s=300.0),
    Outcome.VOICEMAIL: RetryRule(attempts=3, after_s=600.0),
    Outcome.FAILED: RetryRule(attempts=2, after_s=60.0),
    Outcome.REJECTED: RetryRule(attempts=1, after_s=0.0),
}
RING_S = 40.0  # how long a callback rings before it counts as not answered


def outcome_of(status: int) -> Outcome:
    """The outcome of a final response (408: our own ring timeout)."""
    if 200 <= status < 300:
        return Outcome.ANSWERED
    if status in (486, 600):
        return Outcome.BUSY
    if status in (408, 480, 487):
        return Outcome.NO_ANSWER
    if status in (403, 404, 410, 484, 485, 603, 604):
        return Outcome.REJECTED
    return Outcome.FAILED


def next_try(outcome: Outcome, attempt: int, rules: dict[Outcome, RetryRule] = RETRY_RULES
             ) -> float | None:
    """Seconds until attempt ``attempt + 1`` after attempt ``attempt`` (1-based) ended with
    ``outcome``, or None: no more tries."""
    rule = rules.get(outcome)
    if outcome is Outcome.ANSWERED or rule is None or attempt >= rule.attempts:
        return None
    return rule.after_s
