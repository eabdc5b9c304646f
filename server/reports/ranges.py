"""Report ranges (pure): a day, the ISO week (Monday to Sunday) or the calendar month holding a
date, or any span of days up to a year, all in Asia/Shanghai days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

MAX_DAYS = 366


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Span:
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class RangeError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def span_of(period: Period, anchor: date, start: date | None = None, end: date | None = None
            ) -> Span:
    if period is Period.DAY:
        return Span(anchor, anchor)
    if period is Period.WEEK:
        monday = anchor - timedelta(days=anchor.weekday())
        return Span(monday, monday + timedelta(days=6))
    if period is Period.MONTH:
        first = anchor.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Span(first, following - timedelta(days=1))
    if start is None or end is None:
        raise RangeError("自定义范围需要起止日期 / a custom range needs from and to", "from")
    if end < start:
        raise RangeError("结束日期早于开始日期 / to is before from", "to")
    span = Span(start, end)
    if span.days > MAX_DAYS:
        raise RangeError(f"范围最长 {MAX_DAYS} 天 / at most {MAX_DAYS} days", "to")
    return span


def previous(span: Span, period: Period) -> Span:
    """The span before ``span`` of the same kind (last month for a month)."""
    if period is Period.MONTH:
        return span_of(Period.MONTH, span.start - timedelta(days=1))
    length = timedelta(days=span.days)
    return Span(span.start - length, span.end - length)
