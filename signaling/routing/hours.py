"""Working hours per region: a weekly schedule and a pure ``is_open(hours, region, now)``.

Outside working hours the citizen may leave a message or a callback request instead of
waiting (docs/routing.md). China keeps one offset all year (UTC+8, no daylight saving), so a
fixed offset is exact and needs no time-zone database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from signaling.routing.model import RegionCode

CHINA = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Interval:
    """Open from ``start`` (inclusive) to ``end`` (exclusive), local time, within one day."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("an interval ends after it starts (split one that crosses midnight)")

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class WeeklySchedule:
    """Opening intervals per weekday (index 0 is Monday) plus closed and extra-open dates."""

    days: tuple[tuple[Interval, ...], ...]
    tz: tzinfo = CHINA
    closed_dates: frozenset[date] = frozenset()  # public holidays
    extra_days: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)  # 调休 workdays

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("a weekly schedule has seven days, Monday first")

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.extra_days:
            return self.extra_days[day]
        if day in self.closed_dates:
            return ()
        return self.days[day.weekday()]

    def is_open(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, self.tz)
        return any(i.contains(local.time()) for i in self.intervals_on(local.date()))

    def next_opening(self, now: float, horizon_days: int = 14) -> float | None:
        """The next moment the schedule opens (``now`` itself when open), within the horizon."""
        if self.is_open(now):
            return now
        local = datetime.fromtimestamp(now, self.tz)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            for interval in sorted(self.intervals_on(day), key=lambda i: i.start):
                start = datetime.combine(day, interval.start, self.tz)
                if start > local:
                    return start.timestamp()
        return None


ALWAYS = WeeklySchedule(days=tuple((Interval(time(0), time.max),) for _ in range(7)))


@dataclass(frozen=True)
class WorkingHours:
    """A schedule per region; regions without one use ``default``."""

    default: WeeklySchedule = ALWAYS
    regions: Mapping[RegionCode, WeeklySchedule] = field(default_factory=dict)

    def schedule(self, region: RegionCode) -> WeeklySchedule:
        return self.regions.get(region, self.default)


def is_open(hours: WorkingHours, region: RegionCode, now: float) -> bool:
    """Whether the region's seats are staffed at ``now`` (unix seconds)."""
    return hours.schedule(region).is_open(now)


def office_days(*intervals: tuple[time, time], weekend: bool = False) -> WeeklySchedule:
    """Monday-Friday (and the weekend when asked) with the same intervals each day."""
    day = tuple(Interval(a, b) for a, b in intervals)
    return WeeklySchedule(days=tuple(day if weekend or d < 5 else () for d in range(7)))


# Example: the 12348 voice line is staffed around the clock; video and county seats keep
# office hours (9:00-12:00, 14:00-17:30 on weekdays; Jiangshan also Saturday mornings).
EXAMPLE_HOURS = WorkingHours(
    default=office_days((time(9), time(12)), (time(14), time(17, 30))),
    regions={
        RegionCode("qz-kecheng"): ALWAYS,
        RegionCode("qz-jiangshan"): WeeklySchedule(days=(
            *(((Interval(time(9), time(12)), Interval(time(14), time(17, 30))),) * 5),
            (Interval(time(9), time(12)),),
            (),
        )),
    },
)
