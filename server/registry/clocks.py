"""Which clocks an event starts, pauses and stops (pure).

A flow's transition records an event (``Transition.event``); the catalogue's limits say which
events start, pause and stop them. A limit whose start event happens again starts afresh: the
legal-aid review runs again from the day missing materials arrive, and at the receiving centre
from the day a transferred application arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from server.catalogue.schema import Counting, ItemSpec
from server.clocks import WorkingCalendar, due_date
from server.registry.flows import Flow


@dataclass(frozen=True)
class ClockChange:
    code: str
    kind: str  # "start" | "pause" | "stop"
    due: date | None = None
    warn_days: int = 0


def changes_for(item: ItemSpec, event: str, at: datetime, calendar: WorkingCalendar
                ) -> list[ClockChange]:
    out: list[ClockChange] = []
    for limit in item.limits:
        if event in limit.stops_on:
            out.append(ClockChange(limit.code, "stop"))
        elif event in limit.pauses_on:
            out.append(ClockChange(limit.code, "pause"))
        if event == limit.starts_on:
            due = due_date(at, limit.days, limit.counting is Counting.WORKING, calendar)
            out.append(ClockChange(limit.code, "start", due, limit.warn_days))
    return out


def unknown_events(item: ItemSpec, flow: Flow, extra: Iterable[str] = ()) -> list[str]:
    """Limit events that no transition of the flow records: a catalogue mistake."""
    events = {t.event for t in flow.transitions} | set(extra)
    named = {e for limit in item.limits for e in (limit.starts_on, *limit.stops_on, *limit.pauses_on)}
    return sorted(named - events)
