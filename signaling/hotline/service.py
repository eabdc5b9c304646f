"""The hotline: intake into the routing engine, offers, take-next, transfers, callbacks, wrap-up
and the pushes that keep citizens, lawyers and supervisors up to date.

The database decides every case state change (conditional updates); the routing engine holds the
live queue and agents (memory or Redis) and decides who is offered what. ``tick`` runs once a
second from an owned task (signaling/ticker.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from server import catalogue
from server.cases.repository import CaseRepository, CaseStatus, case_resource
from server.catalogue import Mode
from server.errors import ParleyError, bad_request, invalid_state, is_backend_outage, not_found
from server.faults import NO_FAULTS, Faults
from server.models import Case
from server.policy import Action, Principal, Role, require
from server.schemas import IntakeBody
from server.users import UserRepository
from signaling.consultations.service import ConsultationService, Notifier
from signaling.hotline.presence import Availability, PresenceRegistry
from signaling.hotline.supervision import Thresholds, figures
from signaling.hotline.tasks import agent_for, priority_for, task_for
from signaling.hotline.waiting import waiting_entries
from signaling.routing.engine import RoutingEngine
from signaling.routing.eta import HandleTimes
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    Contact,
    RoutingError,
    TaskId,
)
from signaling.views import AGENTS_TARGET, SUPERVISORS_TARGET, case_target, case_view, user_target

log = logging.getLogger(__name__)

FOLLOW_UP_DAYS = 30  # 首问负责: a case left for follow-up brings the citizen back this long
SIGN_OUT_GRACE_S = 15.0  # a lawyer whose last connection dropped (reload) keeps their state
HANDLE_REFRESH_S = 30.0
REBUILD_LOCK_S = 10.0  # one process rebuilds a lost Redis; another may retry after this


class Hotline:
    def __init__(
        self,
        *,
        cases: CaseRepository,
        users: UserRepository,
        engine: RoutingEngine,
        consultation: ConsultationService,
        presence: PresenceRegistry,
        notifier: Notifier,
        clock: Callable[[], datetime],
        default_region: str,
        thresholds: Thresholds,
        faults: Faults = NO_FAULTS,
        elsewhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._cases = cases
        self._users = users
        self._engine = engine
        # Set by the composition root: files the draft of a 转人民调解/转法律援助 outcome.
        self.on_referral: Callable[[Case, Principal, str],
                                   Awaitable[dict[str, Any] | None]] | None = None
        self._consultation = consultation
        self._presence = presence
        self._notifier = notifier
        self._clock = clock
        self._default_region = default_region
        self._thresholds = thresholds
        self._faults = faults
        # Whether another process holds a connection in a target (clustered; None: one process).
        self._elsewhere = elsewhere
        self._outages: set[str] = set()
        self._pushed: dict[str, tuple[int, int | None, bool]] = {}
        self._handle = HandleTimes()
        self._handle_refreshed = float("-inf")
        self._disconnected: dict[str, float] = {}
        self._alerts_on: set[tuple[str, str]] = set()
        self._figure_sources: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}

    def add_figures(self, name: str, source: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Another service's figures shown to supervisors under ``name`` (e.g. overdue
        obligations of mediation agreements)."""
        self._figure_sources[name] = source

    def _now(self) -> float:
        return self._clock().timestamp()

    # --- start-up ------------------------------------------------------------------------

    async def restore(self, force: bool = False) -> int:
        """Rebuild the live queue from the database, unless another process already did
        (``force``: the shared state was lost at run time). Lawyers in a consultation are
        busy with it; connected ones sign in again at the next tick."""
        if not force and (await self._engine.tasks() or await self._engine.agents()):
            return -1
        waiting = await self._cases.waiting_in_order()
        lawyers = await self._users.with_role(Role.LAWYER.value)
        agents = []
        for user in lawyers:
            agent = agent_for(user, self._default_region)
            active = await self._cases.active_for_lawyer(user.id)
            if active is not None:
                agent = replace(agent, state=AgentState.BUSY, contacts=(
                    Contact(TaskId(active.id), Mode(active.mode), self._now()),))
            agents.append(agent)
        await self._engine.rebuild([task_for(c) for c in waiting], agents)
        return len(waiting)

    # --- citizens ------------------------------------------------------------------------

    async def intake(self, body: IntakeBody) -> tuple[Case, bool, bool]:
        """Create and queue a case; returns it, whether the service is open now and whether
        it is new (False: this ``request_id`` made it already, its reply was lost)."""
        now = self._clock()
        is_open = self._engine.is_open(body.region, now.timestamp())  # type: ignore[arg-type]
        if body.request_id is not None:
            earlier = await self._cases.by_intake_key(body.request_id)
            if earlier is not None:
                if earlier.citizen_phone != body.phone:
                    raise bad_request("request_id 已被使用 / request_id already used", "request_id")
                if earlier.status == CaseStatus.WAITING:
                    # Queued again if the crash came before the live queue had it.
                    await self._engine.join(task_for(earlier))
                    await self.route(joined=earlier)
                return earlier, is_open, False
        # Out of hours the case waits as a callback request, keeping its place for the morning.
        # The follow-up lookup reads older cases only: it runs while the new one is written.
        case, owner = await asyncio.gather(
            self._cases.create(body, now, priority=priority_for(body).value, callback=not is_open),
            self._cases.follow_up_owner(body.phone, now - timedelta(days=FOLLOW_UP_DAYS)))
        self._faults.point("intake.after_create")  # reconciliation queues it (docs/deploy.md)
        await self._engine.join(task_for(case, preferred_agent=owner))
        self._faults.point("intake.after_join")
        await self.route(joined=case)
        return case, is_open, True

    async def queue_view(self, case_id: str) -> dict[str, Any] | None:
        estimates = await self._engine.estimates(self._now(), self._handle)
        estimate = estimates.get(TaskId(case_id))
        task = await self._engine.task(TaskId(case_id))
        if estimate is None or task is None:
            return None
        return self._view(estimate.position, estimate.eta_s, len(estimates), task.callback)

    def _view(self, position: int, eta_s: float | None, waiting: int, callback: bool
              ) -> dict[str, Any]:
        eta = int(eta_s) if eta_s is not None else None
        offer = not callback and (eta is None or eta > self._engine.config.callback_threshold_s)
        return {"position": position, "eta_seconds": eta, "waiting": waiting,
                "callback": callback, "callback_offer": offer}

    async def leave_queue(self, me: Principal) -> None:
        require(me, Action.LEAVE_QUEUE)
        assert me.case_id is not None
        if not await self._cases.abandon(me.case_id, self._clock()):
            raise invalid_state("案件不在排队中 / the case is not waiting")
        await self._engine.leave(TaskId(me.case_id), self._now())
        await self.route()

    async def caller_left(self, case_id: str) -> None:
        """A phone caller hung up while waiting (signaling/telephony): as leaving the queue."""
        if await self._cases.abandon(case_id, self._clock()):
            await self._engine.leave(TaskId(case_id), self._now())
            await self.route()

    async def request_callback(self, me: Principal) -> dict[str, Any]:
        require(me, Action.REQUEST_CALLBACK)
        assert me.case_id is not None
        task = await self._engine.request_callback(TaskId(me.case_id), self._now())
        if task is None:
            raise invalid_state("案件不在排队中 / the case is not waiting")
        await self._cases.set_callback(me.case_id, self._clock())
        view = await self.queue_view(me.case_id)
        return {"queue": view}

    # --- lawyers -------------------------------------------------------------------------

    async def agent_connected(self, me: Principal, sid: str) -> None:
        self._presence.connect(me.id, sid)
        self._disconnected.pop(me.id, None)
        current = await self._engine.agent(AgentId(me.id))
        if current is None or current.state is AgentState.OFFLINE:
            user = await self._users.get(int(me.id))
            if user is not None:
                await self._engine.sign_in(agent_for(user, self._default_region), self._now())
        await self.route(only=me.id)

    async def agent_disconnected(self, sid: str) -> None:
        agent_id = self._presence.disconnect(sid)
        if agent_id is not None and not self._presence.is_online(agent_id):
            self._disconnected[agent_id] = self._now()

    async def agent_status(self, agent_id: str) -> dict[str, Any]:
        agent = await self._engine.agent(AgentId(agent_id))
        return _status(agent)

    async def resume_agent(self, me: Principal) -> dict[str, Any]:
        require(me, Action.AGENT_RESUME)
        reply = {**await self.agent_status(me.id), "waiting": len(await self._engine.tasks()),
                 "queue": (await self.waiting(me))["queue"],
                 **await self._consultation.active_for(me)}
        reply["offer"] = None
        for offer in await self._engine.offers():
            if offer.agent_id == me.id:
                reply["offer"] = await self._offer_view(offer.task_id, offer.deadline)
        return reply

    async def waiting(self, me: Principal) -> dict[str, Any]:
        """The waiting queue as a lawyer may see it before an offer (no personal data)."""
        require(me, Action.QUEUE_VIEW)
        tasks = await self._engine.tasks()
        return {"waiting": len(tasks), "queue": waiting_entries(
            tasks, await self._engine.agent(AgentId(me.id)), await self._engine.agents(),
            self._now(), self._engine.config, self._engine.graph)}

    async def set_availability(self, me: Principal, status: Availability) -> dict[str, Any]:
        require(me, Action.SET_AVAILABILITY)
        if status is Availability.AVAILABLE:
            agent = await self._engine.set_available(AgentId(me.id), self._now())
        else:
            agent = await self._engine.set_away(AgentId(me.id))
        await self.route(only=me.id)
        return _status(agent)

    async def ready(self, me: Principal) -> dict[str, Any]:
        require(me, Action.SET_AVAILABILITY)
        agent = await self._engine.end_wrap_up(AgentId(me.id), self._now())
        await self.route(only=me.id)
        return _status(agent)

    async def directory(self, me: Principal) -> dict[str, Any]:
        require(me, Action.TRANSFER_CASE)
        states = {a.agent_id: a.state.value for a in await self._engine.agents()}
        lawyers = await self._users.with_role(Role.LAWYER.value)
        return {"lawyers": [
            {"id": str(u.id), "display_name": u.display_name, "region": u.region,
             "status": states.get(AgentId(str(u.id)), AgentState.OFFLINE.value)}
            for u in lawyers if str(u.id) != me.id
        ]}

    async def take_next(self, me: Principal) -> dict[str, Any]:
        require(me, Action.TAKE_NEXT)
        agent = await self._engine.agent(AgentId(me.id))
        if agent is None:
            raise ParleyError("agent_away", "请先上线 / sign in to the console first", 409)
        if agent.state is AgentState.OFFERED:
            # Pulling the next case while one is offered to you takes that one.
            now = self._now()
            for offer in await self._engine.offers():
                if offer.agent_id == me.id and offer.deadline > now:
                    return await self.accept_offer(me, offer.task_id)
            # The offer ran out a moment ago and the ticker has not settled it yet: settle now.
            await self._expire(now)
            agent = await self._engine.agent(AgentId(me.id))
            if agent is None or agent.state is AgentState.OFFERED:
                raise ParleyError("offer_pending", "请先接听或拒绝当前来电 / answer the offer first",
                                  409)
        if agent.contacts or await self._cases.active_for_lawyer(int(me.id)) is not None:
            raise ParleyError("agent_busy", "请先结束当前咨询 / finish the current consultation", 409)
        if agent.state is AgentState.AWAY:
            raise ParleyError("agent_away", "请先设为可接待 / set yourself available first", 409)
        try:
            pulled = await self._engine.pull(AgentId(me.id), self._now())
        except RoutingError as exc:
            raise ParleyError(exc.code, str(exc), 409) from None
        if pulled is None:
            raise ParleyError("queue_empty", "暂无排队的群众 / nobody is waiting", 409)
        # Pulled is offered: a crash before the database decides leaves an ordinary offer.
        return await self._assign(me, pulled.task_id)

    async def accept_offer(self, me: Principal, case_id: str) -> dict[str, Any]:
        require(me, Action.ANSWER_OFFER)
        offer = await self._engine.offer_of(AgentId(me.id))
        if offer is None or offer.task_id != case_id or offer.deadline < self._now():
            # Asked again after a reconnect, the first answer having reached the database:
            # the same consultation, not an error.
            case = await self._cases.get(case_id)
            if case is not None and _is_theirs(case, me):
                return await self._settle(me, case)
            raise _offer_gone()
        return await self._assign(me, case_id)

    async def decline_offer(self, me: Principal, case_id: str) -> None:
        require(me, Action.ANSWER_OFFER)
        answered = await self._engine.decline(TaskId(case_id), AgentId(me.id), self._now())
        if answered is None:
            raise _offer_gone()
        await self._cases.add_event(case_id, me.participant_id, "declined", {}, self._clock())
        await self.push_status(answered.agent)
        await self.route()

    async def _assign(self, me: Principal, case_id: str) -> dict[str, Any]:
        """The lawyer answers an offer they hold: the database decides (one conditional
        update), then the room opens and both sides are told, then the live state is settled.
        A crash at any step leaves the database's word, which reconciliation makes the live
        state follow (docs/deploy.md: which store decides)."""
        case = await self._cases.assign(case_id, int(me.id), self._clock())
        if case is None:
            current = await self._cases.get(case_id)
            if current is not None and _is_theirs(current, me):
                return await self._settle(me, current)  # a second answer of the same offer
            # The citizen left (or another lawyer has the case): the live task is stale.
            await self._engine.leave(TaskId(case_id), self._now())
            await self.push_status(await self._engine.agent(AgentId(me.id)))
            await self.route()
            raise invalid_state("该群众已离开队列 / the citizen has left the queue")
        self._faults.point("accept.after_assign")
        return await self._settle(me, case, announce=True)

    async def _settle(self, me: Principal, case: Case, announce: bool = False) -> dict[str, Any]:
        """After the database assigned ``case`` to this lawyer: open the room and tell both
        sides (``announce``), then make the live state agree (the last write: until it lands,
        reconciliation sees the assignment as unsettled and finishes it)."""
        lawyer = await self._users.get(int(me.id))
        if lawyer is None:
            raise not_found("律师账号不存在 / no such lawyer")
        try:
            if announce:
                reply = await self._consultation.start(case, lawyer)
                self._faults.point("accept.after_announce")
            else:
                reply = await self._consultation.active_for(me)
        finally:  # a room that failed to open is still this lawyer's case (negotiate reopens)
            await self.settle_live(case, str(lawyer.id))
        self._faults.point("accept.after_settle")
        return reply

    async def settle_live(self, case: Case, lawyer_id: str) -> None:
        """Make the live state agree that ``lawyer_id`` serves ``case`` (the database said so)."""
        settled = await self._engine.settle_assignment(TaskId(case.id), AgentId(lawyer_id),
                                                       Mode(case.mode), self._now())
        for other in settled.withdrawn:
            await self._notifier.emit("offer:expired", {"case_id": case.id},
                                      user_target(other.agent_id))
            await self.push_status(other)
        await self.push_status(settled.agent)

    async def end(self, me: Principal, case_id: str, outcome: str) -> None:
        require(me, Action.END_CASE)
        if outcome not in catalogue.codes(catalogue.OUTCOMES):
            raise bad_request(f"未知的结果 / unknown outcome {outcome!r}", "outcome")
        # One conditional update ends only this lawyer's own consultation; the case is read
        # only to explain a refusal.
        case = await self._cases.end(case_id, outcome, me.participant_id, self._clock(),
                                     lawyer_id=int(me.id))
        if case is None:
            require(me, Action.END_CASE, case_resource(await self._case(case_id)))
            raise invalid_state("咨询未在进行中 / the consultation is not in progress")
        self._faults.point("end.after_end")
        referred = (await self.on_referral(case, me, outcome)
                    if self.on_referral is not None else None)
        await self.announce_end(case, referred)
        self._faults.point("end.after_announce")
        # The live state last: until it lands, reconciliation sees a contact the database
        # ended and finishes the step (docs/deploy.md).
        agent = await self._end_contact(me.id, case_id)
        self._faults.point("end.after_settle")
        await self.push_status(agent)
        await self.route(only=me.id)  # only this lawyer changed

    async def announce_end(self, case: Case, referral: dict[str, Any] | None = None) -> None:
        """Close the room of a consultation the database ended and tell both sides (with the
        referral the ending made, if any)."""
        await self._consultation.close_room(case)
        ended: dict[str, Any] = {"case_id": case.id, "outcome": case.outcome}
        if referral is not None:
            ended["referral"] = referral
        await self._notifier.emit("case:ended", ended, case_target(case.id))
        if case.lawyer_id is not None:
            await self._notifier.emit("case:ended", ended, user_target(str(case.lawyer_id)))

    async def transfer(self, me: Principal, case_id: str, category: str | None,
                       agent_id: str | None, note: str) -> None:
        case = await self._case(case_id)
        require(me, Action.TRANSFER_CASE, case_resource(case))
        if category is None and agent_id is None:
            raise bad_request("请选择转给哪个队列或律师 / name a queue or a lawyer", "category")
        if category is not None and category not in catalogue.codes(catalogue.CATEGORIES):
            raise bad_request(f"未知的类别 / unknown category {category!r}", "category")
        if agent_id is not None:
            target = await self._users.get(int(agent_id)) if agent_id.isdigit() else None
            if target is None or target.role != Role.LAWYER.value or agent_id == me.id:
                raise bad_request("该律师不可选 / not a lawyer you can transfer to", "agent_id")
        if not await self._cases.requeue(case_id, category, me.participant_id, note,
                                         int(agent_id) if agent_id else None, self._clock()):
            raise invalid_state("咨询未在进行中 / the consultation is not in progress")
        self._faults.point("transfer.after_requeue")
        await self.announce_transfer(case)
        self._faults.point("transfer.after_announce")
        moved = await self._cases.get(case_id)
        assert moved is not None
        task = task_for(moved, preferred_agent=int(agent_id) if agent_id else None)
        try:
            await self._engine.transfer(task, AgentId(me.id), self._now(), note,
                                        category=category,
                                        agent_id=AgentId(agent_id) if agent_id else None)
        except RoutingError:
            # The live state lost the contact (a restart, or reconciliation finished the step
            # meanwhile): the database already has the case back in the queue.
            await self._engine.join(task)
        self._faults.point("transfer.after_settle")
        await self.push_status(await self._engine.agent(AgentId(me.id)))
        await self.route()

    async def announce_transfer(self, case: Case) -> None:
        """Close the room of a consultation the database put back in the queue; tell the
        citizen."""
        await self._consultation.close_room(case)
        await self._notifier.emit("case:transferred", {"case_id": case.id}, case_target(case.id))

    async def requeue_after_refusal(self, case: Case) -> None:
        """Recording is required for this service and a participant refused: the case goes
        back to the queue at its place, the lawyer is freed, both are told why."""
        if not await self._cases.requeue(case.id, None, "system", "recording_refused", None,
                                         self._clock()):
            return
        await self._consultation.close_room(case)
        lawyer_id = str(case.lawyer_id)
        agent = await self._end_contact(lawyer_id, case.id)
        moved = await self._cases.get(case.id)
        assert moved is not None
        await self._engine.join(task_for(moved))
        await self._notifier.emit("case:requeued", {"case_id": case.id,
                                                   "reason": "recording_refused"},
                                  case_target(case.id))
        await self._notifier.emit("case:ended", {"case_id": case.id, "outcome": None,
                                                "reason": "recording_refused"},
                                  user_target(lawyer_id))
        await self.push_status(agent)
        await self.route()

    async def _end_contact(self, agent_id: str, case_id: str) -> Agent | None:
        try:
            return await self._engine.end_contact(AgentId(agent_id), TaskId(case_id), self._now())
        except RoutingError:
            # The live state lost the contact (a restart): the database already says it ended.
            return await self._engine.agent(AgentId(agent_id))

    # --- routing and pushes ----------------------------------------------------------------

    async def route(self, only: str | None = None, joined: Case | None = None) -> None:
        """Make the offers the policy chooses now: for everyone, or after a change to one lawyer
        (``only``) or one new case (``joined``, as just written). The tick routes everyone once
        a second, which also settles what a narrow route leaves. Waiting citizens' positions
        are pushed by the tick too: recomputing every estimate on every join would make each
        intake cost as much as the whole queue."""
        offers = await self._engine.dispatch(self._now(), only=[AgentId(only)] if only else None,
                                             joined=TaskId(joined.id) if joined else None)
        for offer in offers:
            self._faults.point("offer.after_claim")  # the offer times out like any unanswered
            known = joined if joined is not None and joined.id == offer.task_id else None
            view = await self._offer_view(offer.task_id, offer.deadline, known)
            if view is None:
                # The database says the case no longer waits (a step a crash cut short):
                # the live task is stale; taking it out withdraws this offer.
                await self._engine.leave(offer.task_id, self._now())
                continue
            await self._cases.add_event(offer.task_id, f"lawyer-{offer.agent_id}", "offered", {},
                                        self._clock())
            await self._notifier.emit("offer:new", view, user_target(offer.agent_id))
            self._faults.point("offer.after_push")
            # The claim made the lawyer OFFERED: no need to read the agent back to say so.
            await self._notifier.emit("agent:status", {"status": AgentState.OFFERED.value},
                                      user_target(offer.agent_id))

    async def _offer_view(self, task_id: str, deadline: float, case: Case | None = None
                          ) -> dict[str, Any] | None:
        """What the lawyer sees of an offer; ``case`` when the caller has it as it now is."""
        if case is None:
            case = await self._cases.get(task_id)
        if case is None or case.status != CaseStatus.WAITING:
            return None
        return {"case": case_view(case, None, for_lawyer=True), "deadline_ms": int(deadline * 1000),
                "timeout_s": self._engine.config.offer_timeout_s}

    async def push_queue(self) -> None:
        """Each waiting citizen connected here gets their position and estimate when it
        changed (every process ticks: each pushes to its own connections)."""
        estimates = await self._engine.estimates(self._now(), self._handle)
        tasks = {t.task_id: t for t in await self._engine.tasks()}
        for case_id in list(self._pushed):
            if case_id not in estimates:
                del self._pushed[case_id]
        for task_id, estimate in estimates.items():
            task = tasks.get(task_id)
            view = self._view(estimate.position, estimate.eta_s, len(estimates),
                              task.callback if task else False)
            key = (view["position"], view["eta_seconds"], view["callback"])
            if self._pushed.get(task_id) != key:
                # Remembered only once pushed: a citizen who connects here later still gets it.
                if await self._notifier.emit_here("queue:update", view, case_target(task_id)):
                    self._pushed[task_id] = key
        await self._notifier.emit_here("queue:size", {"waiting": len(estimates)}, AGENTS_TARGET)

    async def push_status(self, agent: Agent | None) -> None:
        if agent is not None:
            await self._notifier.emit("agent:status", _status(agent), user_target(agent.agent_id))

    async def tick(self) -> None:
        """Once a second: offers time out, wrap-ups end, dropped lawyers sign out, the queue
        is routed again (waits widen eligibility) and estimates are pushed. While a backend
        is unreachable, the waiting citizens connected here are told the service is
        recovering (``service:status``), and told again when it is back."""
        try:
            await self._tick()
        except Exception as exc:
            if is_backend_outage(exc):
                await self.outage("tick", True)
            raise
        await self.outage("tick", False)

    async def outage(self, source: str, down: bool) -> None:
        """``source`` (the tick, reconciliation) found a backend unreachable, or reached it
        again; the waiting citizens connected here hear of the first outage and of the end of
        the last."""
        was = bool(self._outages)
        if down:
            self._outages.add(source)
        else:
            self._outages.discard(source)
        if was != bool(self._outages):
            # Only this process's connections, from what it knows without the backends.
            targets = [case_target(case_id) for case_id in self._pushed]
            if targets:
                await self._notifier.emit_here(
                    "service:status", {"state": "recovering" if self._outages else "ok"},
                    targets)

    async def _tick(self) -> None:
        now = self._now()
        if await self._engine.lost() and await self._engine.claim_rebuild(REBUILD_LOCK_S):
            log.warning("routing state lost (Redis flushed or restarted): rebuilt, %d waiting",
                        await self.restore(force=True))
        await self._expire(now)
        agents = await self._engine.agents()
        known = {a.agent_id: a for a in agents}
        for agent_id in self._presence.online():
            # Connected here but unknown or offline: the shared state was rebuilt.
            if agent_id not in self._disconnected and (
                    known.get(AgentId(agent_id)) is None
                    or known[AgentId(agent_id)].state is AgentState.OFFLINE):
                user = await self._users.get(int(agent_id))
                if user is not None:
                    await self._engine.sign_in(agent_for(user, self._default_region), now)
        for agent in agents:
            if (agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None
                    and agent.wrap_up_until <= now):
                await self.push_status(await self._engine.end_wrap_up(agent.agent_id, now))
        for agent_id, since in list(self._disconnected.items()):
            if now - since >= SIGN_OUT_GRACE_S:
                del self._disconnected[agent_id]
                if self._elsewhere is not None and await self._elsewhere(user_target(agent_id)):
                    continue  # reconnected to another process: theirs to sign out
                gone = await self._engine.agent(AgentId(agent_id))
                if gone is not None and not gone.contacts:
                    await self._engine.sign_out(AgentId(agent_id))
        if now - self._handle_refreshed >= HANDLE_REFRESH_S:
            self._handle_refreshed = now
            measured = await self._cases.mean_handle_by_mode()
            self._handle = HandleTimes({**HandleTimes().mean_s,
                                        **{Mode(m): s for m, s in measured.items()}})
        await self.route()
        await self.push_queue()

    async def _expire(self, now: float) -> None:
        """Offers past their deadline count as missed and go to the next lawyer."""
        for answered in await self._engine.expire(now):
            await self._cases.add_event(answered.task.task_id, f"lawyer-{answered.agent.agent_id}",
                                        "missed", {}, self._clock())
            await self._notifier.emit("offer:expired", {"case_id": answered.task.task_id},
                                      user_target(answered.agent.agent_id))
            await self.push_status(answered.agent)

    # --- supervisors ---------------------------------------------------------------------

    async def figures(self) -> dict[str, Any]:
        now = self._clock()
        names = {str(u.id): u.display_name for u in await self._users.with_role(Role.LAWYER.value)}
        data = figures(tasks=await self._engine.tasks(), agents=await self._engine.agents(),
                       names=names, recent=await self._cases.recent(now - timedelta(days=1)),
                       now=now, thresholds=self._thresholds)
        for name, source in self._figure_sources.items():
            data[name] = await source()
        return data

    async def snapshot(self, me: Principal) -> dict[str, Any]:
        require(me, Action.SUPERVISE)
        return {"figures": await self.figures()}

    async def push_figures(self) -> None:
        """Every supervisor connected here gets the figures; an alert that just started is
        also an event (every process computes them: each pushes to its own connections)."""
        data = await self.figures()
        await self._notifier.emit_here("sup:figures", data, SUPERVISORS_TARGET)
        current = {(a["kind"], a["scope"]) for a in data["alerts"]}
        started = [a for a in data["alerts"] if (a["kind"], a["scope"]) not in self._alerts_on]
        self._alerts_on = current
        if started:
            await self._notifier.emit_here("sup:alert", {"alerts": started}, SUPERVISORS_TARGET)

    async def live_figures(self) -> dict[str, int]:
        """This deployment's live queue and agent figures (for /metrics)."""
        agents = await self._engine.agents()
        return {"waiting": len(await self._engine.tasks()),
                "agents_on_duty": sum(1 for a in agents if a.on_duty()),
                "agents_free": sum(1 for a in agents if a.state is AgentState.AVAILABLE)}

    async def _case(self, case_id: str) -> Case:
        case = await self._cases.get(case_id)
        if case is None:
            raise not_found("案件不存在 / no such case")
        return case


def _status(agent: Agent | None) -> dict[str, Any]:
    if agent is None:
        return {"status": AgentState.OFFLINE.value}
    status: dict[str, Any] = {"status": agent.state.value}
    if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None:
        status["wrap_up_until_ms"] = int(agent.wrap_up_until * 1000)
    return status


def _is_theirs(case: Case, me: Principal) -> bool:
    return case.status == CaseStatus.IN_CONSULTATION and str(case.lawyer_id) == me.id


def _offer_gone() -> ParleyError:
    return ParleyError("offer_gone", "来电已失效 / the offer has expired or was withdrawn", 409)
