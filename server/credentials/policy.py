"""The pure rule: from the wrong tries so far, is a credential check locked, and until when?

- Per invitation: ``per_invitation`` wrong tries (identity or signing code, together) lock that
  invitation until the mediator re-issues it; the lock shows on the mediator's case view.
- Per case: ``per_case`` wrong tries across the case's invitations lock every check of the
  case until the mediator re-issues an invitation (someone is trying several of them).
- Per client address: ``per_address`` wrong tries (invitation codes included) within
  ``address_window`` lock that address for the rest of the window, across cases.

A locked check is refused before the credential is even compared, so a right guess made
after the lock gets the same refusal as a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Scope(StrEnum):
    INVITATION = "invitation"
    CASE = "case"
    ADDRESS = "address"


@dataclass(frozen=True)
class Limits:
    per_invitation: int = 5
    per_case: int = 10
    per_address: int = 10
    address_window: timedelta = timedelta(minutes=15)


LIMITS = Limits()


@dataclass(frozen=True)
class Failure:
    """One wrong try: ``kind`` identity | signing_code | invitation_code."""

    at: datetime
    kind: str
    case_id: str | None
    participant_id: str | None
    address: str | None


@dataclass(frozen=True)
class Lock:
    scope: Scope
    since: datetime
    until: datetime | None  # None: until the mediator re-issues the invitation


def lock_for(failures: Iterable[Failure], *, now: datetime, limits: Limits = LIMITS,
             participant_id: str | None = None, case_id: str | None = None,
             address: str | None = None, invitation_cleared_at: datetime | None = None,
             case_cleared_at: datetime | None = None) -> Lock | None:
    """The lock in force for a check by ``participant_id`` of ``case_id`` from ``address``
    (any of them None: not counted), or None. Tries before a re-issue (``*_cleared_at``)
    do not count."""
    failures = sorted(failures, key=lambda f: f.at)
    if participant_id is not None:
        mine = [f for f in failures if f.participant_id == participant_id
                and _after(f.at, invitation_cleared_at)]
        if len(mine) >= limits.per_invitation:
            return Lock(Scope.INVITATION, mine[limits.per_invitation - 1].at, None)
    if case_id is not None:
        case = [f for f in failures if f.case_id == case_id and _after(f.at, case_cleared_at)]
        if len(case) >= limits.per_case:
            return Lock(Scope.CASE, case[limits.per_case - 1].at, None)
    if address is not None:
        recent = [f for f in failures if f.address == address
                  and f.at > now - limits.address_window]
        if len(recent) >= limits.per_address:
            # Locked until the oldest try that still counts leaves the window.
            since = recent[-limits.per_address].at
            return Lock(Scope.ADDRESS, recent[-1].at, since + limits.address_window)
    return None


def _after(at: datetime, cleared: datetime | None) -> bool:
    return cleared is None or at > cleared
