"""Supervisor figures and early warnings (pure): 12348 hotline measures from the live queue,
agent states and the last day's cases (DOMAIN.md, "Hotline practice")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.cases.repository import CaseStatus
from server.models import Case
from signaling.routing.model import Agent, Task


@dataclass(frozen=True)
class Thresholds:
    service_level_s: float = 60.0  # answered within this counts for the service level
    service_level_alert: float = 0.8  # warn below this share
    longest_wait_alert_s: float = 120.0  # warn when someone has waited longer


def stats(cases: Iterable[Case], service_level_s: float) -> dict[str, Any]:
    """Answered, abandoned, service level, ASA, abandonment rate and mean rating of ``cases``.

    Abandonment rate is abandoned / queued with callbacks excluded (DOMAIN.md); ASA is the mean
    wait of answered cases."""
    answered_waits: list[float] = []
    abandoned = queued = 0
    ratings: list[int] = []
    for case in cases:
        if not case.callback:
            queued += 1
        if case.matched_at is not None:
            answered_waits.append((case.matched_at - case.queued_at).total_seconds())
        elif case.status == CaseStatus.ABANDONED and not case.callback:
            abandoned += 1
        if case.rating is not None:
            ratings.append(case.rating)
    answered = len(answered_waits)
    return {
        "answered": answered,
        "abandoned": abandoned,
        "queued": queued,
        "service_level": (sum(1 for w in answered_waits if w <= service_level_s) / answered
                          if answered else None),
        "asa_s": sum(answered_waits) / answered if answered else None,
        "abandonment_rate": abandoned / queued if queued else None,
        "avg_rating": sum(ratings) / len(ratings) if ratings else None,
    }


def _longest(tasks: Sequence[Task], now: float) -> float:
    return max((now - t.enqueued_at for t in tasks), default=0.0)


def figures(
    *, tasks: Sequence[Task], agents: Sequence[Agent], names: dict[str, str],
    recent: Sequence[Case], now: datetime, thresholds: Thresholds,
) -> dict[str, Any]:
    """Everything the supervisor view shows, with the alerts that are on now."""
    at = now.timestamp()
    alerts: list[dict[str, Any]] = []
    queues = []
    categories = sorted({t.category for t in tasks} | {c.category for c in recent})
    for category in categories:
        waiting = [t for t in tasks if t.category == category]
        row = {"category": category, "waiting": len(waiting), "longest_wait_s": _longest(waiting, at),
               **stats((c for c in recent if c.category == category), thresholds.service_level_s)}
        row_alerts = _alerts(row, f"queue:{category}", thresholds)
        row["alert"] = bool(row_alerts)
        alerts += row_alerts
        queues.append(row)
    totals = {"waiting": len(tasks), "longest_wait_s": _longest(tasks, at),
              **stats(recent, thresholds.service_level_s)}
    alerts += _alerts(totals, "all", thresholds)
    regions = sorted({t.region for t in tasks} | {a.region for a in agents})
    return {
        "at": now.isoformat(),
        "totals": totals,
        "queues": queues,
        "regions": [{
            "region": region,
            "waiting": sum(1 for t in tasks if t.region == region),
            "longest_wait_s": _longest([t for t in tasks if t.region == region], at),
            "agents_on_duty": sum(1 for a in agents if a.region == region and a.on_duty()),
        } for region in regions],
        "agents": [{"id": a.agent_id, "display_name": names.get(a.agent_id, a.agent_id),
                    "region": a.region, "state": a.state.value} for a in agents],
        "agents_by_state": dict(Counter(a.state.value for a in agents)),
        "alerts": alerts,
    }


def _alerts(row: dict[str, Any], scope: str, thresholds: Thresholds) -> list[dict[str, Any]]:
    found = []
    level = row.get("service_level")
    if level is not None and level < thresholds.service_level_alert:
        found.append({"kind": "service_level", "scope": scope, "value": level,
                      "threshold": thresholds.service_level_alert})
    if row["longest_wait_s"] > thresholds.longest_wait_alert_s:
        found.append({"kind": "longest_wait", "scope": scope, "value": row["longest_wait_s"],
                      "threshold": thresholds.longest_wait_alert_s})
    return found
