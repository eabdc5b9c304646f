"""Reconciliation rules (pure): where the live state disagrees with the database, the repairs
that make it agree again. The database decides (docs/deploy.md); the live state follows.

``plan`` compares one snapshot of the live state with the database's facts and returns the
repairs; ``confirm`` keeps only those found in two passes in a row, so that a step in flight
(the database written a millisecond before the live state) is never "repaired" under the feet
of the process doing it. The shell (``signaling.hotline.reconciler``) reads both sides and applies them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum


class RepairKind(StrEnum):
    MISSING_TASK = "missing_task"  # waiting in the database, not in the live queue
    STALE_TASK = "stale_task"  # in the live queue, no longer waiting in the database
    UNSETTLED_ASSIGNMENT = "unsettled_assignment"  # assigned in the database, not live
    STALE_CONTACT = "stale_contact"  # a live agent serves a case the database ended or moved
    IDLE_AGENT = "idle_agent"  # busy with nothing, or offered with no offer in flight
    UNHOSTED_ROOM = "unhosted_room"  # a consultation's media room on no live worker


@dataclass(frozen=True)
class Repair:
    kind: RepairKind
    case_id: str = ""
    agent_id: str = ""


@dataclass(frozen=True)
class LiveAgent:
    state: str  # an AgentState value
    contacts: frozenset[str]  # case ids served
    holds_offer: bool


@dataclass(frozen=True)
class LiveSnapshot:
    """What the live state (memory or Redis) says. ``rooms``: the media rooms some live
    worker hosts (None: unknown, no room repairs)."""

    tasks: AbstractSet[str]
    agents: Mapping[str, LiveAgent]
    rooms: Collection[str] | None = None


@dataclass(frozen=True)
class Serving:
    """A case in consultation, as the database says."""

    lawyer_id: str
    room_id: str | None
    media: bool  # video or audio: its room lives on a media worker


@dataclass(frozen=True)
class DbFacts:
    waiting: AbstractSet[str]
    serving: Mapping[str, Serving]


def plan(live: LiveSnapshot, facts: DbFacts) -> frozenset[Repair]:
    """Every disagreement between ``live`` and ``facts``, as the repair that resolves it."""
    waiting, tasks = facts.waiting, live.tasks
    out: set[Repair] = set()
    out.update(Repair(RepairKind.MISSING_TASK, case) for case in waiting if case not in tasks)
    for case in tasks:
        if case in waiting:
            continue
        serving = facts.serving.get(case)
        if serving is not None:
            out.add(Repair(RepairKind.UNSETTLED_ASSIGNMENT, case, serving.lawyer_id))
        else:
            out.add(Repair(RepairKind.STALE_TASK, case))
    for case, serving in facts.serving.items():
        agent = live.agents.get(serving.lawyer_id)
        if agent is not None and case not in agent.contacts:
            out.add(Repair(RepairKind.UNSETTLED_ASSIGNMENT, case, serving.lawyer_id))
        if (serving.media and serving.room_id is not None and live.rooms is not None
                and serving.room_id not in live.rooms):
            out.add(Repair(RepairKind.UNHOSTED_ROOM, case, serving.lawyer_id))
    for agent_id, agent in live.agents.items():
        for case in agent.contacts:
            serving = facts.serving.get(case)
            if serving is None or serving.lawyer_id != agent_id:
                out.add(Repair(RepairKind.STALE_CONTACT, case, agent_id))
        if (agent.state == "busy" and not agent.contacts) or (
                agent.state == "offered" and not agent.holds_offer):
            out.add(Repair(RepairKind.IDLE_AGENT, agent_id=agent_id))
    return frozenset(out)


def confirm(previous: frozenset[Repair], current: frozenset[Repair]) -> frozenset[Repair]:
    """The repairs found in both passes: a disagreement that lasted a whole interval."""
    return previous & current


# The order repairs are applied in: the case's place and owner first, then the agents, then
# the rooms (an assignment settled before its room is reopened, so the room's members are known).
ORDER = (RepairKind.STALE_TASK, RepairKind.MISSING_TASK, RepairKind.UNSETTLED_ASSIGNMENT,
         RepairKind.STALE_CONTACT, RepairKind.IDLE_AGENT, RepairKind.UNHOSTED_ROOM)


def in_order(repairs: Collection[Repair]) -> list[Repair]:
    rank = {kind: n for n, kind in enumerate(ORDER)}
    return sorted(repairs, key=lambda r: (rank[r.kind], r.case_id, r.agent_id))
