"""A legal time limit's due date and how it stands now.

Counting follows the Civil Code (Art 201-203): the day the period starts is not counted; a
period counted in days ends at 24:00 of its last day; when that last day is a statutory day off,
the period ends on the first working day after it. Working-day periods count only working days.
Everything is in China's time zone: the day a thing happened is its date in Asia/Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.clocks.calendar import WorkingCalendar

CHINA = ZoneInfo("Asia/Shanghai")


class ClockState(StrEnum):
    RUNNING = "running"
    WARNING = "warning"  # within ``warn_days`` of the due date
    OVERDUE = "overdue"  # past 24:00 of the due date, not stopped
    PAUSED = "paused"  # suspended (e.g. waiting for materials told once)
    KEPT = "kept"  # stopped on or before the due date
    MISSED = "missed"  # stopped after the due date


@dataclass(frozen=True)
class ClockView:
    due: date
    state: ClockState
    days_left: int  # calendar days from today to the due date (negative when past)
    estimated: bool  # the due date rests on a year whose holidays are not announced yet

    def to_dict(self) -> dict[str, object]:
        return {"due": self.due.isoformat(), "state": self.state.value, "days_left": self.days_left,
                "estimated": self.estimated}


def local_date(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def due_date(started: datetime, days: int, working: bool, calendar: WorkingCalendar) -> date:
    start = local_date(started)
    if working:
        return calendar.add_working_days(start, days)
    return calendar.next_workday_from(start + timedelta(days=days))


def end_of(day: date) -> datetime:
    """24:00 of ``day`` in China, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA)


def view(*, due: date, now: datetime, warn_days: int, calendar: WorkingCalendar,
         stopped: datetime | None = None, paused: bool = False) -> ClockView:
    today = local_date(now)
    estimated = not calendar.known(due)
    days_left = (due - today).days
    if stopped is not None:
        state = ClockState.KEPT if stopped < end_of(due) else ClockState.MISSED
    elif paused:
        state = ClockState.PAUSED
    elif now >= end_of(due):
        state = ClockState.OVERDUE
    elif days_left <= warn_days:
        state = ClockState.WARNING
    else:
        state = ClockState.RUNNING
    return ClockView(due=due, state=state, days_left=days_left, estimated=estimated)
