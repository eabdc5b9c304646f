"""Who may receive which part of a recording: the caucus rule (背靠背) applied to recorded media.

Pure: from a recording's chained entries (its caucus history on the recording's clock) and the
viewer, ``visible_ranges`` says which time ranges of each participant's lane the viewer may
receive. Every route that serves or lists recorded media (playback data, segment files,
exports) asks it, so a party shut out of a caucus never gets that period by any route.

The rule (docs/security.md, "1. Caucus privacy covers the recording"): a viewer receives what
they were allowed to hear and see live, and nothing else.
- Their own lane, always in full (it is what they said).
- Another participant's lane from the viewer's admission to the recorded session
  (``participant_started``) until the viewer was removed or withdrew consent (``left`` with a
  reason), minus every caucus period in which the two were not in the same group.
- A viewer who was never in the recorded session gets no one else's lane.
- ``FULL`` (the case's mediator, a supervisor; a consultation, which has no caucus) gets
  everything.

The entries' ``at_ms`` are the service's wall clock since the start; segment timestamps are the
worker's clock at packet arrival. The two agree to within tens of milliseconds, so every
period apart is widened by ``GUARD_MS`` on both sides: a viewer may lose a second of what they
heard, never gain a second of what they did not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GUARD_MS = 1000
#: An open end: the range runs to the end of the recording.
OPEN = 1 << 62

Range = tuple[int, int]  # [start_ms, end_ms), end OPEN when it runs to the end


@dataclass(frozen=True)
class Viewer:
    """Who asks: ``participant_id`` in the recording, or ``full`` for everything."""

    participant_id: str | None
    full: bool = False


FULL = Viewer(None, full=True)


@dataclass(frozen=True)
class Period:
    """A stretch of the recording with one arrangement: ``groups`` None in a joint session."""

    start_ms: int
    end_ms: int
    groups: tuple[frozenset[str], ...] | None


def caucus_periods(entries: Iterable[Mapping[str, Any]]) -> list[Period]:
    """The recording cut into periods of one arrangement (joint, or a set of caucus groups),
    from ``caucus_started`` (``group`` 1-based, ``members``), ``mediator_moved`` (all
    ``groups``) and ``caucus_ended`` entries."""
    periods: list[Period] = []
    current: dict[int, frozenset[str]] | None = None
    since = 0

    def close(at: int) -> None:
        groups = None if current is None else tuple(current[k] for k in sorted(current))
        if at > since or not periods:
            periods.append(Period(since, at, groups))

    for entry in entries:
        kind, data = entry.get("kind"), entry.get("data") or {}
        at = int(data.get("at_ms", since) or 0)
        if kind == "caucus_started":
            number = int(data.get("group", 1))
            fresh = current is None or (number == 1 and data.get("reason") is None)
            new = {} if fresh else dict(current or {})
            new[number] = frozenset(str(m) for m in data.get("members", ()))
        elif kind == "mediator_moved":
            new = {i: frozenset(str(m) for m in g)
                   for i, g in enumerate(data.get("groups", ()), start=1)}
        elif kind == "caucus_ended":
            new = None
        else:
            continue
        if new != current:
            close(max(at, since))
            since, current = max(at, since), new
    close(OPEN)
    return [p for p in periods if p.end_ms > p.start_ms]


def _presence(entries: Iterable[Mapping[str, Any]], viewer: str) -> Range | None:
    """When the viewer was in the recorded session: admission to removal (None: never)."""
    start: int | None = None
    end = OPEN
    for entry in entries:
        data = entry.get("data") or {}
        if data.get("participant_id") != viewer:
            continue
        at = int(data.get("at_ms", 0) or 0)
        if entry.get("kind") == "participant_started" and start is None:
            start = at
        elif entry.get("kind") == "left" and data.get("reason") and end == OPEN:
            end = at  # removed, or consent withdrawn: final for the session
    return None if start is None else (start, end)


def _subtract(ranges: list[Range], cut: Range) -> list[Range]:
    out: list[Range] = []
    for a, b in ranges:
        if cut[1] <= a or cut[0] >= b:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0]))
        if cut[1] < b:
            out.append((cut[1], b))
    return out


def visible_ranges(entries: Sequence[Mapping[str, Any]], lanes: Iterable[str],
                   viewer: Viewer) -> dict[str, list[Range]]:
    """For each lane (a recorded participant), the ranges ``viewer`` may receive; an empty
    list means none of it."""
    lanes = list(dict.fromkeys(lanes))
    if viewer.full:
        return {lane: [(0, OPEN)] for lane in lanes}
    me = viewer.participant_id
    presence = _presence(entries, me) if me is not None else None
    periods = caucus_periods(entries)
    result: dict[str, list[Range]] = {}
    for lane in lanes:
        if lane == me:
            result[lane] = [(0, OPEN)]
            continue
        if presence is None:
            result[lane] = []
            continue
        ranges = [presence]
        for period in periods:
            if period.groups is None:
                continue
            together = any(me in g and lane in g for g in period.groups)
            if not together:
                end = period.end_ms if period.end_ms >= OPEN else period.end_ms + GUARD_MS
                ranges = _subtract(ranges, (max(0, period.start_ms - GUARD_MS), end))
        result[lane] = ranges
    return result


def coverage(ranges: Sequence[Range], start_ms: int, end_ms: int) -> str:
    """How a file spanning ``[start_ms, end_ms]`` fares: ``all``, ``none`` or ``part``."""
    inside = [(max(a, start_ms), min(b, end_ms + 1)) for a, b in ranges
              if a <= end_ms and b > start_ms]
    if not inside:
        return "none"
    if any(a <= start_ms and b > end_ms for a, b in ranges):
        return "all"
    return "part"


def allowed_at(ranges: Sequence[Range], ms: int) -> bool:
    return any(a <= ms < b for a, b in ranges)
