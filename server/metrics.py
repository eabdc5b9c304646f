"""Process metrics in the Prometheus text format (pure rendering plus a small event counter)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventCounters:
    """Socket events handled and errors returned, by name and code, in this process."""

    events: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def handled(self, event: str, error_code: str | None) -> None:
        self.events[event] += 1
        if error_code is not None:
            self.errors[error_code] += 1


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "gauge" or "counter"
    help: str
    samples: tuple[tuple[dict[str, str], float], ...]


def render(metrics: list[Metric]) -> str:
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            suffix = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{metric.name}{suffix} {value:g}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def gauge(name: str, help_text: str, value: float) -> Metric:
    return Metric(name, "gauge", help_text, (({}, value),))


def labelled(name: str, kind: str, help_text: str, label: str, values: dict[str, int]) -> Metric:
    return Metric(name, kind, help_text, tuple(({label: k}, float(v)) for k, v in sorted(values.items())))


# The supervisor view's figures (signaling/hotline/supervision.py), per queue and in total.
_QUEUE_FIGURES = (
    ("waiting", "parley_queue_waiting_cases", "Cases waiting"),
    ("longest_wait_s", "parley_queue_longest_wait_seconds", "Longest current wait"),
    ("service_level", "parley_queue_service_level", "Share answered within the threshold (24 h)"),
    ("asa_s", "parley_queue_average_speed_of_answer_seconds", "Average speed of answer (24 h)"),
    ("abandonment_rate", "parley_queue_abandonment_rate", "Abandoned / queued, callbacks apart (24 h)"),
    ("avg_rating", "parley_queue_average_rating", "Mean citizen rating (24 h)"),
)


def supervisor_metrics(figures: dict[str, Any]) -> list[Metric]:
    """The supervisor figures as gauges labelled by queue (``all`` for the totals); a figure
    with nothing to measure yet (None) is left out rather than reported as zero."""
    rows = [("all", figures["totals"]), *((q["category"], q) for q in figures["queues"])]
    metrics = []
    for key, name, help_text in _QUEUE_FIGURES:
        samples = tuple(({"queue": queue}, float(row[key])) for queue, row in rows
                        if row.get(key) is not None)
        metrics.append(Metric(name, "gauge", help_text, samples))
    metrics.append(Metric("parley_agents", "gauge", "Lawyers by routing state",
                          tuple(({"state": s}, float(n))
                                for s, n in sorted(figures["agents_by_state"].items()))))
    metrics.append(Metric("parley_alerts", "gauge", "Early warnings on now",
                          tuple(({"kind": a["kind"], "scope": a["scope"]}, 1.0)
                                for a in figures["alerts"])))
    return metrics
