"""The routing engine's async shell: read the store, apply one pure transition, write it back
atomically, return what changed. The consultation service calls these and does the notifying.

Every agent write is a compare-and-set; when another process changed the agent in between, the
method reads again and retries (a few times, then ``RoutingError("contention")``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from server.catalogue import Mode
from signaling.routing import lifecycle
from signaling.routing.eta import HandleTimes, WaitEstimate, estimate_waits
from signaling.routing.hours import WorkingHours, is_open
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    Offer,
    RegionCode,
    RoutingConfig,
    RoutingError,
    Task,
    TaskId,
)
from signaling.routing.policy import best_tasks_for, decide_indexed, decide_joined
from signaling.routing.regions import RegionGraph
from signaling.routing.store import RoutingStore, RoutingView

RETRIES = 8
# A pull passes this many tasks so that a lost race falls through to the next, doubling after
# each lost round (every task in a lost round went to someone else, so the queue moved on).
PULL_CANDIDATES = 16
PULL_CANDIDATES_MAX = 256


@dataclass(frozen=True)
class Settled:
    """The live state made to agree with an assignment: the agent (None when not signed in
    live) and the agents whose offer of that task was withdrawn."""

    agent: Agent | None
    withdrawn: tuple[Agent, ...] = ()


@dataclass(frozen=True)
class Answered:
    """An offer's outcome: the task as it now is and the agent as stored."""

    task: Task
    agent: Agent


class RoutingEngine:
    def __init__(self, store: RoutingStore, *, config: RoutingConfig, graph: RegionGraph,
                 hours: WorkingHours | None = None) -> None:
        self._store = store
        self._config = config
        self._graph = graph
        self._hours = hours or WorkingHours()

    @property
    def config(self) -> RoutingConfig:
        return self._config

    @property
    def graph(self) -> RegionGraph:
        return self._graph

    def is_open(self, region: RegionCode, now: float) -> bool:
        return is_open(self._hours, region, now)

    # --- citizens ------------------------------------------------------------------------

    async def join(self, task: Task) -> bool:
        """Queue a task (intake, or a transfer coming back); False if it already waits."""
        return await self._store.add_task(task)

    async def leave(self, task_id: TaskId, now: float) -> lifecycle.Abandonment | None:
        """The citizen leaves: out of the queue, an offer in flight withdrawn (no miss counted)."""
        removed = await self._store.remove_task(task_id)
        if removed is None:
            return None
        offer = removed.offer
        if offer is not None:
            await self._change_agent(offer.agent_id, lambda a: lifecycle.withdraw(offer, a))
        return lifecycle.abandon(removed.task, now)

    async def request_callback(self, task_id: TaskId, now: float) -> Task | None:
        for _ in range(RETRIES):
            task = await self._store.get_task(task_id)
            if task is None:
                return None
            flagged = lifecycle.request_callback(task, now)
            if flagged is task or await self._store.update_task(flagged):
                return flagged
        raise RoutingError("contention", "the task kept changing")

    # --- routing -------------------------------------------------------------------------

    async def dispatch(self, now: float, only: Iterable[AgentId] | None = None,
                       joined: TaskId | None = None) -> list[Offer]:
        """Make the offers the policy chooses now; returns those claimed (others lost a race
        with another process and will be reconsidered at the next dispatch). ``only``: just
        these agents changed; ``joined``: just this task joined (see ``decide_joined``)."""
        view = await self._store.view()
        decisions = None
        if joined is not None:
            decisions = decide_joined(joined, view.index, view.agents, view.offers.keys(), now,
                                      self._config, self._graph)
        if decisions is None:
            decisions = decide_indexed(view.index, view.agents, view.offers.keys(), now,
                                       self._config, self._graph, only)
        made: list[Offer] = []
        for decision in decisions:
            task = view.index.get(decision.task_id)
            if task is None:  # left while an earlier claim was in flight
                continue
            _, offered = lifecycle.make_offer(task, view.agents[decision.agent_id], now, self._config)
            offer = await self._store.claim(offered, [decision.task_id], now,
                                            now + self._config.offer_timeout_s)
            if offer is not None:
                made.append(offer)
        return made

    async def pull(self, agent_id: AgentId, now: float) -> Offer | None:
        """Manual pull: the best task for this agent by the same rules, offered to it (the
        caller accepts it at once; a crash in between leaves an ordinary offer in flight)."""
        for attempt in range(RETRIES):
            view = await self._store.view()
            agent = view.agents.get(agent_id)
            if agent is None:
                raise RoutingError("unknown_agent", "no such agent")
            limit = min(PULL_CANDIDATES << attempt, PULL_CANDIDATES_MAX)
            best = best_tasks_for(agent, view.index, view.agents, view.offers.keys(), now,
                                  self._config, self._graph, limit)
            if not best:
                return None
            _, offered = lifecycle.make_offer(best[0], agent, now, self._config)
            offer = await self._store.claim(offered, [t.task_id for t in best], now,
                                            now + self._config.offer_timeout_s)
            if offer is not None:
                return offer
        raise RoutingError("contention", "could not take a task")

    async def take_next(self, agent_id: AgentId, now: float) -> Answered | None:
        """Manual pull accepted at once in the live state alone (the hotline pulls, has the
        database decide, then settles: see ``settle_assignment``)."""
        for _ in range(RETRIES):
            offer = await self.pull(agent_id, now)
            if offer is None:
                return None
            answered = await self.accept(offer.task_id, agent_id, now)
            if answered is not None:
                return answered
        raise RoutingError("contention", "could not take a task")

    async def offer_of(self, agent_id: AgentId) -> Offer | None:
        """The offer in flight held by ``agent_id``, if any."""
        view = await self._store.view()
        return next((o for o in view.offers.values() if o.agent_id == agent_id), None)

    async def settle_assignment(self, task_id: TaskId, agent_id: AgentId, mode: Mode,
                                now: float) -> Settled:
        """The database gave ``task_id`` to ``agent_id``; make the live state say so, whatever
        it says now (the offer timed out or went to another agent meanwhile, a crash left it
        half done, a rebuild lost the contact). Idempotent: settling twice changes nothing."""
        try:  # the usual case: the agent still holds the offer (one read, one atomic write)
            answered = await self.accept(task_id, agent_id, now)
        except RoutingError:  # timed out a moment ago
            answered = None
        if answered is not None:
            return Settled(answered.agent)
        withdrawn: list[Agent] = []
        removed = await self._store.remove_task(task_id)
        if removed is not None and removed.offer is not None and removed.offer.agent_id != agent_id:
            other = removed.offer
            withdrawn.append(await self._change_agent(other.agent_id,
                                                      lambda a: lifecycle.withdraw(other, a)))
        await self._withdraw_offer_of(agent_id)
        current = await self._store.get_agent(agent_id)
        if current is None:
            return Settled(None, tuple(withdrawn))
        agent = await self._change_agent(agent_id, lambda a: lifecycle.assigned(
            _settle_orphan(a), task_id, mode, now))
        return Settled(agent, tuple(withdrawn))

    async def accept(self, task_id: TaskId, agent_id: AgentId, now: float) -> Answered | None:
        """The agent accepts: the task leaves the queue. None if no such offer is in flight."""
        return await self._answer(task_id, agent_id, lambda o, t, a: lifecycle.accept(o, t, a, now),
                                  remove=True)

    async def decline(self, task_id: TaskId, agent_id: AgentId, now: float) -> Answered | None:
        """The agent declines: the task keeps its place, this agent is excluded from it a while."""
        return await self._answer(
            task_id, agent_id, lambda o, t, a: lifecycle.decline(o, t, a, now, self._config))

    async def expire(self, now: float) -> list[Answered]:
        """Time out every offer past its deadline (call every second or so). Also settles an
        agent left OFFERED with no offer in flight (its task left and the process died before
        withdrawing it, or a rebuild dropped the offer)."""
        view = await self._store.view()
        holding = {o.agent_id for o in view.offers.values()}
        for agent in list(view.agents.values()):
            if agent.state is AgentState.OFFERED and agent.agent_id not in holding:
                await self._change_agent(agent.agent_id, _settle_orphan)
        out: list[Answered] = []
        for offer in list(view.offers.values()):
            if offer.deadline <= now:
                done = await self._answer(
                    offer.task_id, offer.agent_id,
                    lambda o, t, a: lifecycle.time_out(o, t, a, now, self._config))
                if done is not None:
                    out.append(done)
        return out

    async def _answer(self, task_id: TaskId, agent_id: AgentId,
                      step: Callable[[Offer, Task, Agent], tuple[Task, Agent]],
                      remove: bool = False) -> Answered | None:
        for _ in range(RETRIES):
            # One consistent read of the offer, its task and its agent (Redis: one round trip).
            view = await self._store.view()
            offer = view.offers.get(task_id)
            task = view.index.get(task_id)
            agent = view.agents.get(agent_id)
            if offer is None or offer.agent_id != agent_id or task is None or agent is None:
                return None
            new_task, new_agent = step(offer, task, agent)
            stored = await self._store.resolve(offer, None if remove else new_task, new_agent)
            if stored is not None:
                return Answered(new_task, stored)
        raise RoutingError("contention", "the agent kept changing")

    # --- agents --------------------------------------------------------------------------

    async def sign_in(self, agent: Agent, now: float) -> Agent:
        """Register or refresh an agent (skills, languages, region, capacity) and make it available."""
        current = await self._store.get_agent(agent.agent_id)
        if current is None:
            return await self._store.put_agent(lifecycle.set_available(agent, now))
        return await self._change_agent(agent.agent_id, lambda a: lifecycle.set_available(
            replace(a, skills=agent.skills, languages=agent.languages, region=agent.region,
                    capacity=agent.capacity), now))

    async def set_available(self, agent_id: AgentId, now: float) -> Agent:
        return await self._change_agent(agent_id, lambda a: lifecycle.set_available(a, now))

    async def set_away(self, agent_id: AgentId) -> Agent:
        await self._withdraw_offer_of(agent_id)
        return await self._change_agent(agent_id, lifecycle.set_away)

    async def sign_out(self, agent_id: AgentId) -> Agent:
        await self._withdraw_offer_of(agent_id)
        return await self._change_agent(agent_id, lifecycle.sign_out)

    async def end_contact(self, agent_id: AgentId, task_id: TaskId, now: float) -> Agent:
        return await self._change_agent(
            agent_id, lambda a: lifecycle.end_contact(a, task_id, now, self._config))

    async def end_wrap_up(self, agent_id: AgentId, now: float) -> Agent:
        return await self._change_agent(agent_id, lambda a: lifecycle.end_wrap_up(a, now))

    async def transfer(self, task: Task, by: AgentId, now: float, note: str, *,
                       category: str | None = None, agent_id: AgentId | None = None) -> Task:
        """内部流转 of a case ``by`` is serving: it ends ``by``'s contact and queues the case again
        at its original place, for another category and/or a named agent."""
        moved = lifecycle.transfer(task, now, by, note, category=category, agent_id=agent_id)
        await self.end_contact(by, task.task_id, now)
        await self._store.add_task(moved)
        return moved

    async def _withdraw_offer_of(self, agent_id: AgentId) -> None:
        for offer in await self._store.offers():
            if offer.agent_id == agent_id:
                await self._answer(offer.task_id, agent_id,
                                   lambda o, t, a: (t, lifecycle.withdraw(o, a)))

    async def _change_agent(self, agent_id: AgentId, change: Callable[[Agent], Agent]) -> Agent:
        for _ in range(RETRIES):
            agent = await self._store.get_agent(agent_id)
            if agent is None:
                raise RoutingError("unknown_agent", "no such agent")
            stored = await self._store.update_agent(change(agent))
            if stored is not None:
                return stored
        raise RoutingError("contention", "the agent kept changing")

    # --- what citizens and supervisors see --------------------------------------------

    async def agent(self, agent_id: AgentId) -> Agent | None:
        return await self._store.get_agent(agent_id)

    async def agents(self) -> list[Agent]:
        return await self._store.agents()

    async def tasks(self) -> list[Task]:
        """Every waiting task, first to be served first."""
        return await self._store.tasks()

    async def task(self, task_id: TaskId) -> Task | None:
        return await self._store.get_task(task_id)

    async def offers(self) -> list[Offer]:
        return await self._store.offers()

    async def snapshot(self) -> RoutingView:
        """One consistent read of the live state (reconciliation); use it before the next
        ``await`` or copy what you need (memory hands out its live index)."""
        return await self._store.view()

    async def settle_idle(self, agent_id: AgentId) -> Agent | None:
        """An agent busy with no contact, or offered with no offer in flight, becomes what its
        contacts say (busy or available); None if unknown, unchanged otherwise."""
        for _ in range(RETRIES):
            view = await self._store.view()  # the agent and its offers from one read
            agent = view.agents.get(agent_id)
            if agent is None:
                return None
            holds = any(o.agent_id == agent_id for o in view.offers.values())
            idle = (agent.state is AgentState.BUSY and not agent.contacts) or (
                agent.state is AgentState.OFFERED and not holds)
            if not idle:
                return agent
            stored = await self._store.update_agent(replace(
                agent, state=AgentState.BUSY if agent.contacts else AgentState.AVAILABLE))
            if stored is not None:
                return stored
        raise RoutingError("contention", "the agent kept changing")

    async def rebuild(self, tasks: list[Task], agents: list[Agent]) -> None:
        """Replace the live state with what the database says (start-up, lost Redis)."""
        await self._store.rebuild(tasks, agents)

    async def lost(self) -> bool:
        """Whether the shared store lost its state (see ``RoutingStore.lost``)."""
        return await self._store.lost()

    async def claim_rebuild(self, ttl_s: float) -> bool:
        return await self._store.claim_rebuild(ttl_s)

    async def close(self) -> None:
        await self._store.close()

    async def estimates(self, now: float, handle: HandleTimes) -> dict[TaskId, WaitEstimate]:
        """Position and estimated wait of every waiting task (push those that changed)."""
        view = await self._store.view()
        return estimate_waits(view.index.in_order(), view.agents.values(), now, self._config,
                              self._graph, handle, view.offers.keys())


def _settle_orphan(agent: Agent) -> Agent:
    if agent.state is not AgentState.OFFERED:
        return agent
    return replace(agent, state=AgentState.BUSY if agent.contacts else AgentState.AVAILABLE)
