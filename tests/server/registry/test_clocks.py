"""Legal clocks in working days across a holiday and a make-up working day (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

from server.clocks import ClockState, WorkingCalendar, due_date, view
from server.clocks.clock import CHINA

CAL = WorkingCalendar()


def at_china(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA).astimezone(UTC)


def test_working_days_skip_the_spring_festival_and_count_the_make_up_saturday() -> None:
    # 2026: Sat 14 Feb is worked instead (调休); 15-23 Feb are the Spring Festival holiday.
    start = at_china(date(2026, 2, 13))
    assert due_date(start, 1, True, CAL) == date(2026, 2, 14)
    assert due_date(start, 2, True, CAL) == date(2026, 2, 24)
    assert due_date(start, 3, True, CAL) == date(2026, 2, 25)


def test_a_calendar_period_ending_on_a_day_off_runs_to_the_next_working_day() -> None:
    # 7 days from 10 Feb end on 17 Feb, in the holiday: the period ends on 24 Feb (Civil Code 203).
    assert due_date(at_china(date(2026, 2, 10)), 7, False, CAL) == date(2026, 2, 24)
    # Not on a day off: exactly 7 days later.
    assert due_date(at_china(date(2026, 3, 2)), 7, False, CAL) == date(2026, 3, 9)


def test_the_day_is_china_s_day_not_utc() -> None:
    # 23:30 UTC on 1 March is already 2 March in China: the period starts from 2 March.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert due_date(late, 7, False, CAL) == date(2026, 3, 9)


def test_a_year_the_library_does_not_know_uses_the_override_else_is_estimated() -> None:
    override = WorkingCalendar(MappingProxyType({date(2027, 1, 1): False, date(2027, 1, 2): True}))
    # Fri 1 Jan 2027 is a holiday and Sat 2 Jan worked, per the deployment's override.
    assert not override.is_workday(date(2027, 1, 1))
    assert override.is_workday(date(2027, 1, 2))
    assert override.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 2)
    assert override.known(date(2027, 3, 1))
    # Without it: weekdays, and the clock says its date is estimated.
    assert not CAL.known(date(2027, 3, 1))
    shown = view(due=date(2027, 3, 1), now=at_china(date(2027, 2, 20)), warn_days=1, calendar=CAL)
    assert shown.estimated


def test_clock_states_running_warning_overdue_kept_missed_paused() -> None:
    due = date(2026, 3, 9)
    def state(now: datetime, **kw: object) -> ClockState:
        return view(due=due, now=now, warn_days=2, calendar=CAL, **kw).state  # type: ignore[arg-type]
    assert state(at_china(date(2026, 3, 2))) is ClockState.RUNNING
    assert state(at_china(date(2026, 3, 7))) is ClockState.WARNING
    assert state(at_china(date(2026, 3, 9), 23)) is ClockState.WARNING  # due today, until 24:00
    assert state(at_china(date(2026, 3, 10), 0)) is ClockState.OVERDUE
    assert state(at_china(date(2026, 3, 12)), stopped=at_china(date(2026, 3, 9), 23)) is ClockState.KEPT
    assert state(at_china(date(2026, 3, 12)), stopped=at_china(date(2026, 3, 10), 9)) is ClockState.MISSED
    assert state(at_china(date(2026, 3, 2)), paused=True) is ClockState.PAUSED
    assert view(due=due, now=at_china(date(2026, 3, 2)), warn_days=2,
                calendar=CAL).days_left == (due - date(2026, 3, 2)).days
    assert (due - date(2026, 3, 2)) == timedelta(days=7)
