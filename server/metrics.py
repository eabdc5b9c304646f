"""Process metrics in the Prometheus text format (pure rendering plus a small event counter)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


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
