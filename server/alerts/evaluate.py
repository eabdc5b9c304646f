"""Which rules fire on a snapshot of figures, and why (pure: ``now`` is an argument).

Every firing carries its explanation: the rule, the figures it read and the thresholds it
compared them with, so a supervisor sees why without asking anyone."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.alerts.rules import Kind, Rule


@dataclass(frozen=True)
class Contact:
    """One contact (a consultation case) as the rules read it."""

    case_id: str
    queued_at: datetime
    category: str
    region: str
    citizen: str  # the citizen's phone: who contacted (shown masked)
    matched_at: datetime | None = None
    abandoned: bool = False
    callback: bool = False


@dataclass(frozen=True)
class Waiting:
    task_id: str
    category: str
    region: str
    since: datetime


@dataclass(frozen=True)
class ClockDue:
    application_id: str
    code: str
    institution: str
    due: date


@dataclass(frozen=True)
class Flag:
    case_id: str
    category: str
    note: str


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    today: date  # the local (Asia/Shanghai) date, for the legal clocks
    waiting: Sequence[Waiting] = ()
    contacts: Sequence[Contact] = ()
    clocks: Sequence[ClockDue] = ()
    flags: Sequence[Flag] = ()


@dataclass(frozen=True)
class Firing:
    rule: Rule
    scope: str  # what it is about: "all", "queue:labour", "region:qz", "case:ID", ...
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """One open alert per rule and scope (the database keeps it unique)."""
        return f"{self.rule.name}|{self.scope}"

    def explanation(self) -> dict[str, Any]:
        return {"rule": self.rule.name, "kind": self.rule.kind.value, "scope": self.scope,
                "severity": self.rule.severity.value, "figures": self.figures,
                "thresholds": thresholds(self.rule)}


def thresholds(rule: Rule) -> dict[str, Any]:
    """The numbers of the rule its kind uses, as written in the rules file."""
    used = {
        Kind.LONGEST_WAIT: ("threshold",),
        Kind.SERVICE_LEVEL: ("threshold", "target_s", "window_minutes", "min_answered"),
        Kind.ABANDONMENT_SPIKE: ("factor", "window_minutes", "baseline_minutes", "min_count"),
        Kind.REGION_DEMAND: ("factor", "window_minutes", "baseline_minutes", "min_count"),
        Kind.REPEATED_CONTACTS: ("min_count", "window_minutes"),
        Kind.CLOCK_LAPSING: ("threshold",),
        Kind.MEDIATION_ESCALATING: (),
    }[rule.kind]
    return {name: getattr(rule, name) for name in used}


def evaluate(rules: Iterable[Rule], snapshot: Snapshot) -> list[Firing]:
    """Every enabled rule's firings on ``snapshot``, in rule order."""
    found: list[Firing] = []
    for rule in rules:
        if rule.enabled:
            found += _CHECKS[rule.kind](rule, snapshot)
    return found


def _by_category(rule: Rule, items: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    groups: list[tuple[str, list[Any]]] = [("all", list(items))]
    if rule.per_category:
        for category in sorted({i.category for i in items}):
            groups.append((f"queue:{category}", [i for i in items if i.category == category]))
    return groups


def _longest_wait(rule: Rule, s: Snapshot) -> list[Firing]:
    out = []
    for scope, waiting in _by_category(rule, s.waiting):
        longest = max(((s.now - w.since).total_seconds() for w in waiting), default=0.0)
        if longest > rule.threshold:
            out.append(Firing(rule, scope, {"longest_wait_s": round(longest, 1),
                                            "waiting": len(waiting)}))
    return out


def _window(contacts: Iterable[Contact], start: datetime, end: datetime) -> list[Contact]:
    return [c for c in contacts if start <= c.queued_at < end]


def _service_level(rule: Rule, s: Snapshot) -> list[Firing]:
    recent = _window(s.contacts, s.now - timedelta(minutes=rule.window_minutes), s.now)
    out = []
    for scope, contacts in _by_category(rule, recent):
        answered = [c for c in contacts if c.matched_at is not None]
        if len(answered) < max(rule.min_answered, 1):
            continue
        within = sum(1 for c in answered
                     if c.matched_at is not None
                     and (c.matched_at - c.queued_at).total_seconds() <= rule.target_s)
        level = within / len(answered)
        if level < rule.threshold:
            out.append(Firing(rule, scope, {"service_level": round(level, 3),
                                            "answered": len(answered), "within_target": within}))
    return out


def _abandonment(contacts: Sequence[Contact]) -> tuple[int, int]:
    queued = [c for c in contacts if not c.callback]  # callbacks are not abandonments (DOMAIN.md)
    return sum(1 for c in queued if c.abandoned), len(queued)


def _abandonment_spike(rule: Rule, s: Snapshot) -> list[Firing]:
    start = s.now - timedelta(minutes=rule.window_minutes)
    base_start = s.now - timedelta(minutes=rule.baseline_minutes)
    out = []
    for scope, contacts in _by_category(rule, list(s.contacts)):
        abandoned, queued = _abandonment(_window(contacts, start, s.now))
        base_abandoned, base_queued = _abandonment(_window(contacts, base_start, start))
        if not queued or abandoned < rule.min_count:
            continue
        rate = abandoned / queued
        # No baseline contacts: any abandonment at volume is a spike against zero.
        base_rate = base_abandoned / base_queued if base_queued else 0.0
        if rate > rule.factor * base_rate:
            out.append(Firing(rule, scope, {
                "abandoned": abandoned, "queued": queued, "rate": round(rate, 3),
                "baseline_abandoned": base_abandoned, "baseline_queued": base_queued,
                "baseline_rate": round(base_rate, 3)}))
    return out


def _region_demand(rule: Rule, s: Snapshot) -> list[Firing]:
    start = s.now - timedelta(minutes=rule.window_minutes)
    base_start = s.now - timedelta(minutes=rule.baseline_minutes)
    windows = (rule.baseline_minutes - rule.window_minutes) / rule.window_minutes
    now_counts = Counter(c.region for c in _window(s.contacts, start, s.now))
    base_counts = Counter(c.region for c in _window(s.contacts, base_start, start))
    out = []
    for region in sorted(now_counts):
        count = now_counts[region]
        usual = base_counts[region] / windows
        if count >= rule.min_count and count > rule.factor * usual:
            out.append(Firing(rule, f"region:{region}", {
                "contacts": count, "usual_per_window": round(usual, 2),
                "baseline_contacts": base_counts[region]}))
    return out


def _repeated(rule: Rule, s: Snapshot) -> list[Firing]:
    start = s.now - timedelta(minutes=rule.window_minutes)
    recent = _window(s.contacts, start, s.now + timedelta(seconds=1))
    # Count first: only the few disputes over the threshold are gathered and sorted.
    counts = Counter((c.citizen, c.category) for c in recent)
    hot = {key for key, n in counts.items() if n >= rule.min_count}
    groups: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for contact in recent:
        if (contact.citizen, contact.category) in hot:
            groups[(contact.citizen, contact.category)].append(contact)
    out = []
    for (citizen, category), contacts in sorted(groups.items()):
        contacts.sort(key=lambda c: c.queued_at)
        # The scope names the dispute by its first case: no phone number in a key.
        out.append(Firing(rule, f"dispute:{contacts[0].case_id}", {
            "contacts": len(contacts), "category": category, "citizen": _mask(citizen),
            "case_ids": [c.case_id for c in contacts]}))
    return out


def _clock_lapsing(rule: Rule, s: Snapshot) -> list[Firing]:
    out = []
    for clock in sorted(s.clocks, key=lambda c: (c.due, c.application_id)):
        days_left = (clock.due - s.today).days
        if days_left <= rule.threshold:
            out.append(Firing(rule, f"clock:{clock.application_id}:{clock.code}", {
                "application_id": clock.application_id, "clock": clock.code,
                "institution": clock.institution, "due": clock.due.isoformat(),
                "days_left": days_left}))
    return out


def _escalating(rule: Rule, s: Snapshot) -> list[Firing]:
    return [Firing(rule, f"mediation:{f.case_id}", {"case_id": f.case_id, "category": f.category,
                                                    "note": f.note})
            for f in s.flags]


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


_CHECKS = {
    Kind.LONGEST_WAIT: _longest_wait,
    Kind.SERVICE_LEVEL: _service_level,
    Kind.ABANDONMENT_SPIKE: _abandonment_spike,
    Kind.REGION_DEMAND: _region_demand,
    Kind.REPEATED_CONTACTS: _repeated,
    Kind.CLOCK_LAPSING: _clock_lapsing,
    Kind.MEDIATION_ESCALATING: _escalating,
}
