"""The early-warning round: one process of the cluster gathers the figures, evaluates the rules
(server.alerts.evaluate, pure), stores what newly fired and tells every supervisor."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from server.alerts.evaluate import ClockDue, Flag, Snapshot, Waiting, evaluate
from server.alerts.repository import AlertRepository, alert_view
from server.alerts.rules import Kind, Rule
from server.clocks.clock import local_date
from server.errors import not_found
from server.mediation.repository import MediationRepository
from server.policy import Action, Principal, require
from server.registry.repository import RegistryRepository
from signaling.consultations.service import Notifier
from signaling.routing.model import Task
from signaling.views import SUPERVISORS_TARGET

log = logging.getLogger(__name__)

# Mediation states after which a flag no longer calls for attention.
_CLOSED_MEDIATION = frozenset({"settled", "failed", "refused", "withdrawn"})
# Timeline entries shown on the page beside the alerts (transfers, supervisors' live assist).
SHOWN_EVENTS = ("transferred", "supervisor_listening", "supervisor_joined", "supervisor_left")


class Turn(Protocol):
    """Whether this process evaluates this round (one per cluster)."""

    async def claim(self) -> bool: ...


class AlwaysTurn:
    """One process, no Redis: every round is ours."""

    async def claim(self) -> bool:
        return True


class RedisTurn:
    """SET NX PX on ``{p}:alerts:turn``: whoever sets it evaluates; the key lapses before the
    next round so a dead process never holds the turn."""

    def __init__(self, redis: Any, key: str, ttl_s: float) -> None:
        self._redis = redis
        self._key = key
        self._ttl_ms = max(1, int(ttl_s * 1000))

    async def claim(self) -> bool:
        return bool(await self._redis.set(self._key, "1", nx=True, px=self._ttl_ms))


class AlertWatch:
    def __init__(self, *, rules: Sequence[Rule], repository: AlertRepository,
                 registry: RegistryRepository,
                 mediation: MediationRepository, tasks: Callable[[], Awaitable[Sequence[Task]]],
                 notifier: Notifier, turn: Turn, clock: Callable[[], datetime]) -> None:
        self.rules = tuple(rules)
        self.repository = repository
        self._registry = registry
        self._mediation = mediation
        self._tasks = tasks
        self._notifier = notifier
        self._turn = turn
        self._clock = clock
        # How far back the contacts are read: the longest window any rule looks at.
        self._lookback = timedelta(minutes=max(
            [r.baseline_minutes for r in self.rules] + [r.window_minutes for r in self.rules]
            + [60.0]))

    async def snapshot(self, now: datetime) -> Snapshot:
        kinds = {r.kind for r in self.rules if r.enabled}
        waiting = [Waiting(t.task_id, t.category, t.region, datetime.fromtimestamp(
            t.enqueued_at, now.tzinfo)) for t in await self._tasks()]
        contacts = await self.repository.contacts(now - self._lookback)
        clocks: list[ClockDue] = []
        if Kind.CLOCK_LAPSING in kinds:
            clocks = [ClockDue(c.application_id, c.code, c.institution, c.due)
                      for c in await self._registry.open_clocks()
                      if not c.paused and c.stopped_at is None]
        flags: list[Flag] = []
        if Kind.MEDIATION_ESCALATING in kinds:
            flags = [Flag(m.id, m.category, m.escalation_note or "")
                     for m in await self._mediation.flagged() if m.status not in _CLOSED_MEDIATION]
        return Snapshot(now=now, today=local_date(now), waiting=waiting, contacts=contacts,
                        clocks=clocks, flags=flags)

    async def round(self) -> int:
        """One evaluation if it is our turn; how many alerts this process raised."""
        if not await self._turn.claim():
            return 0
        now = self._clock()
        firings = evaluate(self.rules, await self.snapshot(now))
        await self.repository.clear_others((f.key for f in firings), now)
        raised = await self.repository.raise_new(firings, now)
        for alert in raised:
            await self._notifier.emit("alert:raised", alert_view(alert), SUPERVISORS_TARGET)
        return len(raised)

    async def board(self, me: Principal) -> dict[str, Any]:
        """What the page shows: alerts open or raised in the last day, and the last day's
        transfers, escalations and live assist."""
        require(me, Action.ALERTS_READ)
        now = self._clock()
        since = now - timedelta(days=1)
        escalations = [{"case_id": m.id, "category": m.category, "note": m.escalation_note,
                        "status": m.status} for m in await self._mediation.flagged()
                       if m.status not in _CLOSED_MEDIATION]
        return {"alerts": [alert_view(a) for a in await self.repository.listing(since=since)],
                "events": await self.repository.case_events(SHOWN_EVENTS, since),
                "escalations": escalations,
                "rules": [{"name": r.name, "kind": r.kind.value, "severity": r.severity.value,
                           "enabled": r.enabled} for r in self.rules]}

    async def acknowledge(self, me: Principal, alert_id: int, note: str | None) -> dict[str, Any]:
        require(me, Action.ALERTS_ACK)
        alert = await self.repository.acknowledge(alert_id, by=int(me.id), name=me.name,
                                                  note=note, at=self._clock())
        if alert is None:
            raise not_found("预警不存在或已确认 / no such alert, or acknowledged already")
        view = alert_view(alert)
        await self._notifier.emit("alert:acked", view, SUPERVISORS_TARGET)
        return view
