"""Registering with the trunk: when to refresh, how to back off, what a failure means (pure
rules; ``trunk`` sends the REGISTERs)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RegState(StrEnum):
    OFF = "off"  # PARLEY_SIP_REGISTER not set
    REGISTERING = "registering"  # the first REGISTER is out
    REGISTERED = "registered"
    FAILED = "failed"  # the last exchange failed; trying again after a back-off
    UNREGISTERED = "unregistered"  # removed on shutdown


@dataclass(frozen=True)
class Backoff:
    first_s: float  # wait after the first failure
    cap_s: float  # never more than this between tries


# Data, as the callback retry rules: a deployment may change them (docs/telephony.md).
BACKOFF = Backoff(first_s=5.0, cap_s=300.0)
ANSWER_TIMEOUT_S = 32.0  # RFC 3261 timer F (64 × T1): no final answer by then counts as 408


def refresh_in(granted_s: int) -> float:
    """Seconds after a 200 until the next REGISTER: well before the grant runs out (half a
    short grant, 30 s early for a long one), so one lost refresh can still be resent."""
    return max(1.0, granted_s - min(30.0, granted_s / 2))


def retry_in(failures: int, backoff: Backoff = BACKOFF) -> float:
    """Seconds before try ``failures + 1`` after ``failures`` failures in a row: doubling."""
    return float(min(backoff.cap_s, backoff.first_s * 2 ** max(0, failures - 1)))


def meaning(status: int) -> str:
    """What a failed REGISTER says to whoever reads the log."""
    if status in (401, 407, 403):
        return "credentials refused (PARLEY_SIP_USER / PARLEY_SIP_PASSWORD)"
    if status == 404:
        return "unknown user at this registrar (PARLEY_SIP_USER / PARLEY_SIP_DOMAIN)"
    if status == 408:
        return "no answer from the trunk (PARLEY_SIP_TRUNK, firewall)"
    if status == 423:
        return "the registrar wants a longer interval (PARLEY_SIP_REGISTER_EXPIRES)"
    if status >= 500:
        return "the trunk is unavailable"
    return "refused"


@dataclass
class RegStatus:
    """What /metrics and the log show of the registration."""

    state: RegState = RegState.OFF
    granted_s: int = 0
    failures: int = 0  # in a row; 0 once registered
    failures_total: int = 0
    successes_total: int = 0  # 200s, first registration and refreshes
    last_status: int | None = None
