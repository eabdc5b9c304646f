"""Which days are working days in China.

The State Council's general office announces each year's statutory holidays and the weekend
days worked instead (调休). ``chinese_calendar`` carries those announcements (maintained, a new
release each year); a deployment lists a year the library does not know yet in its catalogue
file (``calendar`` table), and those entries win. For a year neither knows, weekdays are taken
as working days and every date computed from them is marked ``estimated`` so the UI says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

import chinese_calendar


@dataclass(frozen=True)
class WorkingCalendar:
    # day -> True for a working day, False for a day off: the deployment's own entries.
    overrides: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}))

    def known(self, day: date) -> bool:
        """Whether the day's status comes from announced data (library or override)."""
        if day in self.overrides or day.year in self._override_years():
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            # Not announced yet (and not in the override): Monday to Friday.
            return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (the start day itself is not counted)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def next_workday_from(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def _override_years(self) -> frozenset[int]:
        return frozenset(d.year for d in self.overrides)
