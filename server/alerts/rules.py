"""The early-warning rules as data: parsed and checked once at start (pure).

A rules file is TOML with one ``[[rule]]`` table per rule. A mistake is refused with the line it
is on, so a supervisor editing the file sees where (``RulesError``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).with_name("rules.toml")


class Kind(StrEnum):
    LONGEST_WAIT = "longest_wait"  # someone has waited longer than ``threshold`` seconds
    SERVICE_LEVEL = "service_level"  # share answered within the target below ``threshold``
    ABANDONMENT_SPIKE = "abandonment_spike"  # window's abandonment > ``factor`` x baseline
    REGION_DEMAND = "region_demand"  # a region's contacts in the window > ``factor`` x usual
    REPEATED_CONTACTS = "repeated_contacts"  # one citizen, one dispute, >= ``min_count`` times
    CLOCK_LAPSING = "clock_lapsing"  # a legal clock due within ``threshold`` days
    MEDIATION_ESCALATING = "mediation_escalating"  # the mediator flagged the conflict


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


# Per kind: the fields it needs (besides name and kind) and the ones it may have.
_NEEDS: dict[Kind, frozenset[str]] = {
    Kind.LONGEST_WAIT: frozenset({"threshold"}),
    Kind.SERVICE_LEVEL: frozenset({"threshold", "target_s", "window_minutes"}),
    Kind.ABANDONMENT_SPIKE: frozenset({"factor", "window_minutes", "baseline_minutes"}),
    Kind.REGION_DEMAND: frozenset({"factor", "window_minutes", "baseline_minutes"}),
    Kind.REPEATED_CONTACTS: frozenset({"min_count", "window_minutes"}),
    Kind.CLOCK_LAPSING: frozenset({"threshold"}),
    Kind.MEDIATION_ESCALATING: frozenset(),
}
_OPTIONAL = frozenset({"severity", "min_count", "enabled", "per_category", "min_answered"})
_NUMBERS = frozenset({"threshold", "target_s", "window_minutes", "baseline_minutes", "factor",
                      "min_count", "min_answered"})


@dataclass(frozen=True)
class Rule:
    """One rule. Numbers not used by its kind keep their defaults."""

    name: str
    kind: Kind
    severity: Severity = Severity.WARNING
    threshold: float = 0.0
    target_s: float = 60.0
    window_minutes: float = 60.0
    baseline_minutes: float = 0.0
    factor: float = 1.0
    min_count: int = 1
    min_answered: int = 5  # a service level of two calls says nothing
    per_category: bool = True
    enabled: bool = True


class RulesError(ValueError):
    """A rules file refused at start; ``line`` is 1-based, 0 when the whole file is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"rules line {line}: {message}" if line else f"rules: {message}")
        self.line = line


def _rule_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """Where each ``[[rule]]`` header is, and where each of its keys is (1-based)."""
    found: list[tuple[int, dict[str, int]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.replace(" ", "") == "[[rule]]":
            found.append((number, {}))
        elif found and "=" in line and not line.startswith("#"):
            found[-1][1].setdefault(line.split("=", 1)[0].strip(), number)
    return found


def parse_rules(text: str) -> tuple[Rule, ...]:
    """The rules of a TOML text, or ``RulesError`` naming the line of the first mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(getattr(exc, "lineno", 0) or _line_of(str(exc)), str(exc)) from None
    extra = set(data) - {"rule"}
    if extra:
        raise RulesError(0, f"unknown top-level keys {sorted(extra)}; write [[rule]] tables")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RulesError(0, "no [[rule]] tables")
    lines = _rule_lines(text)
    rules: list[Rule] = []
    names: set[str] = set()
    for index, table in enumerate(tables):
        header, keys = lines[index] if index < len(lines) else (0, {})
        rule = _rule(table, header, keys)
        if rule.name in names:
            raise RulesError(keys.get("name", header), f"rule name {rule.name!r} is used twice")
        names.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _rule(table: dict[str, Any], header: int, keys: dict[str, int]) -> Rule:
    name = table.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 48:
        raise RulesError(keys.get("name", header), "every rule needs a name (1-48 characters)")
    try:
        kind = Kind(str(table.get("kind")))
    except ValueError:
        raise RulesError(keys.get("kind", header), f"rule {name!r}: kind must be one of "
                         f"{[k.value for k in Kind]}") from None
    needed = _NEEDS[kind]
    missing = needed - set(table)
    if missing:
        raise RulesError(header, f"rule {name!r} ({kind}) needs {sorted(missing)}")
    unknown = set(table) - needed - _OPTIONAL - {"name", "kind"}
    if unknown:
        key = sorted(unknown)[0]
        raise RulesError(keys.get(key, header), f"rule {name!r}: unknown key {key!r}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        line = keys.get(key, header)
        if key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise RulesError(line, f"rule {name!r}: {key} must be a number >= 0")
            values[key] = int(value) if key in ("min_count", "min_answered") else float(value)
        elif key in ("enabled", "per_category"):
            if not isinstance(value, bool):
                raise RulesError(line, f"rule {name!r}: {key} must be true or false")
            values[key] = value
        elif key == "severity":
            try:
                values[key] = Severity(value)
            except ValueError:
                raise RulesError(line, f"rule {name!r}: severity must be warning or critical"
                                 ) from None
    if kind is Kind.SERVICE_LEVEL and values["threshold"] > 1:
        raise RulesError(keys.get("threshold", header),
                         f"rule {name!r}: a service level threshold is a share (0-1)")
    if kind in (Kind.ABANDONMENT_SPIKE, Kind.REGION_DEMAND):
        if values["factor"] <= 1:
            raise RulesError(keys.get("factor", header), f"rule {name!r}: factor must be > 1")
        if values["baseline_minutes"] <= values["window_minutes"]:
            raise RulesError(keys.get("baseline_minutes", header),
                             f"rule {name!r}: baseline_minutes must exceed window_minutes")
    if kind is Kind.REPEATED_CONTACTS and values["min_count"] < 2:
        raise RulesError(keys.get("min_count", header), f"rule {name!r}: min_count must be >= 2")
    return Rule(name=name, kind=kind, **values)


def _line_of(message: str) -> int:
    # Older tomllib messages end "(at line N, column M)".
    marker = "at line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(",", 1)[0].strip(" )")
        if digits.isdigit():
            return int(digits)
    return 0


def load_rules(path: Path | None = None) -> tuple[Rule, ...]:
    """The rules of ``path`` (default: the shipped ``rules.toml``)."""
    return parse_rules((path or SHIPPED).read_text(encoding="utf-8"))
