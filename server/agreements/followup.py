"""Performance follow-up (人民调解法 Art 31): which agreed terms are overdue. Pure.

An obligation is overdue from the day after its deadline (dates in China Standard Time) while
the mediator's latest record for it is not ``performed`` (no record, ``partly`` or
``not_performed``). One recorded performed after its deadline is no longer overdue but counts as
performed late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from server.agreements.content import AgreementContent

CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class PerformanceRecord:
    obligation_id: str
    status: str  # performed | partly | not_performed
    performed_on: date | None


@dataclass(frozen=True)
class Overdue:
    obligation_id: str
    obligor: str
    deadline: date
    status: str  # unrecorded | partly | not_performed
    days_overdue: int

    def to_dict(self) -> dict[str, object]:
        return {"obligation_id": self.obligation_id, "obligor": self.obligor,
                "deadline": self.deadline.isoformat(), "status": self.status,
                "days_overdue": self.days_overdue}


def today_in_china(now: datetime) -> date:
    return now.astimezone(CST).date()


def latest(records: Iterable[PerformanceRecord]) -> dict[str, PerformanceRecord]:
    """The last record per obligation (records in the order they were made)."""
    out: dict[str, PerformanceRecord] = {}
    for record in records:
        out[record.obligation_id] = record
    return out


def overdue(content: AgreementContent, records: Iterable[PerformanceRecord], today: date
            ) -> list[Overdue]:
    """Obligations past their deadline and not recorded as performed, in document order."""
    last = latest(records)
    found = []
    for o in content.obligations:
        if o.deadline is None or today <= o.deadline:
            continue
        record = last.get(o.id)
        if record is not None and record.status == "performed":
            continue
        found.append(Overdue(o.id, o.obligor, o.deadline,
                             record.status if record else "unrecorded",
                             (today - o.deadline).days))
    return found


def performed_late(content: AgreementContent, records: Iterable[PerformanceRecord]) -> int:
    """How many obligations were recorded performed, but after their deadline."""
    last = latest(records)
    return sum(1 for o in content.obligations
               if o.deadline and (r := last.get(o.id)) is not None and r.status == "performed"
               and r.performed_on is not None and r.performed_on > o.deadline)
