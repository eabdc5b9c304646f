"""Offer lifecycle and the other routing transitions, as pure functions returning new values.

The shell reads the task and agent from the store, calls one of these with ``now``, and writes
the results back through one atomic store operation. None of them moves a task's place
(``enqueued_at`` and priority) except ``transfer`` with an explicit new priority.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from server.catalogue import Mode
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    Contact,
    Exclusion,
    HistoryEntry,
    Offer,
    PriorityClass,
    RoutingConfig,
    RoutingError,
    Task,
    TaskId,
)

TRANSFER_EXCLUSION_S = 86_400.0  # the transferring agent is not offered the case again that day


def _check_offer(offer: Offer, task: Task, agent: Agent) -> None:
    if offer.task_id != task.task_id or offer.agent_id != agent.agent_id:
        raise RoutingError("offer_mismatch", "this offer is for another task or agent")


def _settled(agent: Agent) -> AgentState:
    """The state an agent returns to when an offer is resolved."""
    return AgentState.BUSY if agent.contacts else AgentState.AVAILABLE


def make_offer(task: Task, agent: Agent, now: float, config: RoutingConfig) -> tuple[Offer, Agent]:
    """Offer ``task`` to ``agent`` until ``now + offer_timeout_s``; the agent is OFFERED."""
    if not agent.has_room_for(task.mode):
        raise RoutingError("agent_full", "the agent has no room for this mode")
    offer = Offer(task.task_id, agent.agent_id, now, now + config.offer_timeout_s)
    return offer, replace(agent, state=AgentState.OFFERED, wrap_up_until=None)


def accept(offer: Offer, task: Task, agent: Agent, now: float) -> tuple[Task, Agent]:
    """The agent takes the task: it leaves the queue and becomes one of the agent's contacts."""
    _check_offer(offer, task, agent)
    if now > offer.deadline:
        raise RoutingError("offer_expired", "the offer timed out before it was accepted")
    done = task.with_event(HistoryEntry(now, "accepted", agent.agent_id),
                           owner=task.owner or agent.agent_id)
    busy = replace(agent, state=AgentState.BUSY, missed_offers=0, idle_since=now,
                   contacts=(*agent.contacts, Contact(task.task_id, task.mode, now)))
    return done, busy


def decline(offer: Offer, task: Task, agent: Agent, now: float,
            config: RoutingConfig) -> tuple[Task, Agent]:
    """The agent says no: the task keeps its place, this agent is excluded from it for a while.

    A decline is an answer, so the agent's run of missed offers ends.
    """
    _check_offer(offer, task, agent)
    back = _exclude(task, agent.agent_id, now, config, "declined")
    return back, replace(agent, state=_settled(agent), missed_offers=0)


def time_out(offer: Offer, task: Task, agent: Agent, now: float,
             config: RoutingConfig) -> tuple[Task, Agent]:
    """No answer by the deadline: like a decline, and a miss; N misses in a row set the agent away."""
    _check_offer(offer, task, agent)
    if now < offer.deadline:
        raise RoutingError("offer_open", "the offer has not timed out yet")
    back = _exclude(task, agent.agent_id, now, config, "missed")
    missed = agent.missed_offers + 1
    state = AgentState.AWAY if missed >= config.missed_offers_before_away else _settled(agent)
    return back, replace(agent, state=state, missed_offers=missed)


def withdraw(offer: Offer, agent: Agent) -> Agent:
    """The offer is void (the citizen left, the agent signed out): no miss is counted."""
    if offer.agent_id != agent.agent_id:
        raise RoutingError("offer_mismatch", "this offer is for another agent")
    if agent.state is not AgentState.OFFERED:
        return agent
    return replace(agent, state=_settled(agent))


def _exclude(task: Task, agent_id: AgentId, now: float, config: RoutingConfig, kind: str) -> Task:
    kept = tuple(e for e in task.excluded if e.until > now and e.agent_id != agent_id)
    return task.with_event(HistoryEntry(now, kind, agent_id),
                           excluded=(*kept, Exclusion(agent_id, now + config.exclusion_s)))


def take(task: Task, agent: Agent, now: float, config: RoutingConfig) -> tuple[Offer, Task, Agent]:
    """Manual "take next": the agent pulled the task, so the offer is accepted at once."""
    offer, offered = make_offer(task, agent, now, config)
    done, busy = accept(offer, task, offered, now)
    return offer, done, busy


def assigned(agent: Agent, task_id: TaskId, mode: Mode, now: float) -> Agent:
    """The database gave ``task_id`` to this agent (it decides, docs/deploy.md): the live agent
    serves it, whatever the live offer did meanwhile (timed out, withdrawn, lost in a crash).
    Idempotent. Its offer in flight, if any, must be withdrawn by the shell first."""
    if any(c.task_id == task_id for c in agent.contacts):
        return agent
    contacts = (*agent.contacts, Contact(task_id, mode, now))
    state = agent.state if agent.state in (AgentState.AWAY, AgentState.OFFLINE) else AgentState.BUSY
    return replace(agent, state=state, contacts=contacts, wrap_up_until=None, missed_offers=0)


def end_contact(agent: Agent, task_id: str, now: float, config: RoutingConfig) -> Agent:
    """A contact ends; with no other contact left the agent wraps up for ``wrap_up_s``."""
    left = tuple(c for c in agent.contacts if c.task_id != task_id)
    if len(left) == len(agent.contacts):
        raise RoutingError("not_serving", "the agent is not serving this case")
    if left:
        return replace(agent, contacts=left)
    if agent.state is AgentState.AWAY:  # chose away during the call: stays away
        return replace(agent, contacts=())
    if config.wrap_up_s <= 0:
        return replace(agent, contacts=(), state=AgentState.AVAILABLE, idle_since=now)
    return replace(agent, contacts=(), state=AgentState.WRAP_UP, wrap_up_until=now + config.wrap_up_s)


def end_wrap_up(agent: Agent, now: float) -> Agent:
    """Wrap-up is over (deadline reached or the agent clicked ready): available, idle from now."""
    if agent.state is not AgentState.WRAP_UP:
        return agent
    return replace(agent, state=AgentState.AVAILABLE, wrap_up_until=None, idle_since=now)


def set_available(agent: Agent, now: float) -> Agent:
    """Signed in or back from away: free now (or still busy), the run of misses forgotten."""
    if agent.state in (AgentState.OFFERED, AgentState.WRAP_UP):
        return agent
    if agent.contacts:
        return replace(agent, state=AgentState.BUSY, missed_offers=0)
    fresh = agent.state in (AgentState.OFFLINE, AgentState.AWAY)
    return replace(agent, state=AgentState.AVAILABLE, missed_offers=0,
                   idle_since=now if fresh else agent.idle_since)


def set_away(agent: Agent) -> Agent:
    """A pause: no new offers (an offer in flight must be withdrawn by the shell first)."""
    if agent.state is AgentState.OFFERED:
        raise RoutingError("offer_pending", "answer or withdraw the pending offer first")
    return replace(agent, state=AgentState.AWAY)


def sign_out(agent: Agent) -> Agent:
    if agent.state is AgentState.OFFERED:
        raise RoutingError("offer_pending", "answer or withdraw the pending offer first")
    return replace(agent, state=AgentState.OFFLINE, wrap_up_until=None)


def transfer(task: Task, now: float, by: AgentId, note: str, *, category: str | None = None,
             agent_id: AgentId | None = None, priority: PriorityClass | None = None) -> Task:
    """内部流转: back to the queue under another category and/or for a named agent, with a note.

    The task keeps its enqueued time (its place), its owner and its history; a named agent holds
    it as its preferred agent from now (``preferred_wait_s``), so it reaches them while on duty.
    The agent who transferred it is not offered it again.
    """
    if category is None and agent_id is None and priority is None:
        raise RoutingError("transfer_target", "name a category, an agent or a priority")
    if agent_id == by:
        raise RoutingError("transfer_target", "cannot transfer a case to oneself")
    changes: dict[str, object] = {"excluded": (*task.excluded, Exclusion(by, now + TRANSFER_EXCLUSION_S))}
    if category is not None:
        changes["category"] = category
    if agent_id is not None:
        changes["preferred_agent"] = agent_id
        changes["preferred_since"] = now
    if priority is not None:
        changes["priority"] = priority
    target = agent_id or category or (priority.value if priority else "")
    return task.with_event(HistoryEntry(now, "transferred", by, f"{target}: {note}"), **changes)


def request_callback(task: Task, now: float) -> Task:
    """The citizen would rather be called back: same place, flagged, reaches an agent as a
    callback task (the agent phones the citizen)."""
    if task.callback:
        return task
    return task.with_event(HistoryEntry(now, "callback_requested"), callback=True,
                           callback_requested_at=now)


@dataclass(frozen=True)
class Abandonment:
    """A citizen left the queue: recorded with the time waited (callbacks are counted apart)."""

    task_id: str
    waited_s: float
    priority: PriorityClass
    callback: bool
    region: str
    category: str


def abandon(task: Task, now: float) -> Abandonment:
    return Abandonment(task.task_id, max(0.0, now - task.enqueued_at), task.priority,
                       task.callback, task.region, task.category)
