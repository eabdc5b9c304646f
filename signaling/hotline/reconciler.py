"""The reconciliation shell: reads the live state and the database, asks ``reconcile.plan``
what disagrees, and applies the repairs it confirmed over two passes (docs/deploy.md).

Run at start-up and then every ``PARLEY_RECONCILE_INTERVAL_S`` by every signaling process (an
owned ticker); every repair is idempotent, so two processes repairing the same thing at once
change it once. Counted in /metrics: passes, repairs by kind, time spent.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.cases.repository import CaseRepository, CaseStatus
from server.catalogue import Mode
from server.errors import is_backend_outage
from server.users import UserRepository
from signaling.consultations.service import MEDIA_MODES, ConsultationService
from signaling.hotline.reconcile import (
    DbFacts,
    LiveAgent,
    LiveSnapshot,
    Repair,
    RepairKind,
    Serving,
    confirm,
    in_order,
    plan,
)
from signaling.hotline.service import FOLLOW_UP_DAYS, Hotline
from signaling.hotline.tasks import task_for
from signaling.routing import lifecycle
from signaling.routing.engine import RoutingEngine
from signaling.routing.model import AgentId, RoutingError, Task, TaskId

log = logging.getLogger(__name__)


@dataclass
class ReconcileStats:
    """This process's reconciliation so far (for /metrics)."""

    runs: int = 0
    repairs: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    seconds_total: float = 0.0
    last_seconds: float = 0.0


class Reconciler:
    def __init__(self, *, hotline: Hotline, engine: RoutingEngine, cases: CaseRepository,
                 users: UserRepository, consultation: ConsultationService,
                 rooms: Callable[[], Awaitable[Collection[str] | None]],
                 clock: Callable[[], datetime]) -> None:
        self._hotline = hotline
        self._engine = engine
        self._cases = cases
        self._users = users
        self._consultation = consultation
        self._rooms = rooms
        self._clock = clock
        self._previous: frozenset[Repair] = frozenset()
        self.stats = ReconcileStats()

    async def run(self) -> list[Repair]:
        """One pass: the repairs applied (those found in this pass and the one before)."""
        started = time.perf_counter()
        try:
            try:
                live, facts = await self._live(), await self._facts()
            except Exception as exc:
                if is_backend_outage(exc):
                    await self._hotline.outage("reconcile", True)
                raise
            await self._hotline.outage("reconcile", False)
            found = plan(live, facts)
            confirmed = confirm(self._previous, found)
            self._previous = found
            applied = []
            for repair in in_order(confirmed):
                try:
                    await self._apply(repair)
                except Exception:  # one failed repair must not stop the others
                    self.stats.failures += 1
                    log.exception("reconcile: %s failed", repair)
                    continue
                self.stats.repairs[repair.kind.value] += 1
                applied.append(repair)
                log.warning("reconcile: repaired %s case=%s agent=%s", repair.kind.value,
                            repair.case_id, repair.agent_id)
            if applied:
                await self._hotline.route()
            return applied
        finally:
            took = time.perf_counter() - started
            self.stats.runs += 1
            self.stats.last_seconds = took
            self.stats.seconds_total += took

    async def _live(self) -> LiveSnapshot:
        view = await self._engine.snapshot()
        # Copied before the next await: the memory store hands out its live index.
        tasks = frozenset(view.index.ids())
        holding = {o.agent_id for o in view.offers.values()}
        agents: dict[str, LiveAgent] = {
            a.agent_id: LiveAgent(a.state.value, frozenset(c.task_id for c in a.contacts),
                                  a.agent_id in holding)
            for a in view.agents.values()}
        rooms = await self._rooms()
        return LiveSnapshot(tasks, agents, frozenset(rooms) if rooms is not None else None)

    async def _facts(self) -> DbFacts:
        found = await self._cases.open_cases()
        return DbFacts(found.waiting, {
            case_id: Serving(str(lawyer), room, mode in MEDIA_MODES)
            for case_id, (lawyer, room, mode) in found.serving.items()})

    async def _apply(self, repair: Repair) -> None:
        now = self._clock()
        case = await self._cases.get(repair.case_id) if repair.case_id else None
        match repair.kind:
            case RepairKind.MISSING_TASK:
                if case is not None and case.status == CaseStatus.WAITING:
                    owner = await self._cases.follow_up_owner(
                        case.citizen_phone, now - timedelta(days=FOLLOW_UP_DAYS))
                    # Its place is its queued_at, so it goes back where it was.
                    await self._engine.join(await self._as_transferred(
                        task_for(case, preferred_agent=owner), now.timestamp()))
            case RepairKind.STALE_TASK:
                if case is None or case.status != CaseStatus.WAITING:
                    await self._engine.leave(TaskId(repair.case_id), now.timestamp())
            case RepairKind.UNSETTLED_ASSIGNMENT:
                if (case is not None and case.status == CaseStatus.IN_CONSULTATION
                        and str(case.lawyer_id) == repair.agent_id):
                    lawyer = await self._users.get(int(repair.agent_id))
                    try:
                        if lawyer is not None:  # both sides may never have been told
                            await self._consultation.start(case, lawyer, again=True)
                    finally:
                        await self._hotline.settle_live(case, repair.agent_id)
            case RepairKind.STALE_CONTACT:
                await self._end_contact(repair)
                if case is not None and case.status == CaseStatus.ENDED:
                    await self._hotline.announce_end(case)
                elif case is not None and case.status == CaseStatus.WAITING:
                    await self._hotline.announce_transfer(case)
            case RepairKind.IDLE_AGENT:
                await self._hotline.push_status(
                    await self._engine.settle_idle(AgentId(repair.agent_id)))
            case RepairKind.UNHOSTED_ROOM:
                if (case is not None and case.status == CaseStatus.IN_CONSULTATION
                        and case.room_id and Mode(case.mode).value in MEDIA_MODES):
                    await self._consultation.reopen(case)
                    await self._consultation.renegotiate(case.room_id)

    async def _as_transferred(self, task: Task, now: float) -> Task:
        """A case a transfer put back (内部流转) keeps what the transfer said: the named lawyer
        first, the transferring one left out (from its timeline's last "transferred")."""
        events = await self._cases.events(task.task_id)
        moved = next((e for e in reversed(events) if e.kind == "transferred"), None)
        if moved is None or not moved.actor.startswith("lawyer-"):
            return task
        target = moved.data.get("lawyer")
        try:
            return lifecycle.transfer(task, now, AgentId(moved.actor.removeprefix("lawyer-")),
                                      str(moved.data.get("note") or ""),
                                      category=moved.data.get("category"),
                                      agent_id=AgentId(str(target)) if target else None)
        except RoutingError:  # nothing named (a refusal's requeue): the plain task
            return task

    async def _end_contact(self, repair: Repair) -> None:
        agent_id = AgentId(repair.agent_id)
        try:
            agent = await self._engine.end_contact(agent_id, TaskId(repair.case_id),
                                                   self._clock().timestamp())
        except RoutingError:  # ended meanwhile, or the agent is gone
            return
        await self._hotline.push_status(agent)
