"""What a rating may say and when it needs a follow-up (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum

from server.clocks import WorkingCalendar
from server.clocks.clock import local_date


class Reason(StrEnum):
    """The reasons people actually give for a low rating."""

    WAITED_TOO_LONG = "waited_too_long"
    NOT_UNDERSTOOD = "not_understood"
    ATTITUDE = "attitude"
    NOT_SOLVED = "not_solved"
    OTHER = "other"


class Subject(StrEnum):
    CONSULTATION = "consultation"
    MEDIATION = "mediation"
    APPLICATION = "application"


LOW_SCORE = 2  # 1-2 of 5 is dissatisfied (不满意)
FOLLOW_UP_WORKING_DAYS = 3


def needs_follow_up(score: int, complaint: bool) -> bool:
    """A low rating or a complaint is followed up by a supervisor (评价信息归集研判和问题整改)."""
    return complaint or score <= LOW_SCORE


def follow_up_due(rated_at: datetime, calendar: WorkingCalendar) -> date:
    return calendar.add_working_days(local_date(rated_at), FOLLOW_UP_WORKING_DAYS)


# A mediation is rated once something happened to rate: a session held, an agreement, or the end.
_MEDIATION_RATEABLE_EVENTS = frozenset({"session_opened", "agreement_signed",
                                        "agreement_effective", "closed", "outcome"})
_MEDIATION_ENDED = frozenset({"settled", "failed", "refused", "withdrawn"})


def mediation_may_be_rated(status: str, event_kinds: Iterable[str]) -> bool:
    """The parties rate a mediation after the session or the agreement (or once it ended)."""
    return status in _MEDIATION_ENDED or not _MEDIATION_RATEABLE_EVENTS.isdisjoint(event_kinds)
