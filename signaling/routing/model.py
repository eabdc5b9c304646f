"""The routing engine's vocabulary: tasks, agents, offers and the configuration (pure data).

Times are unix seconds (``float``) passed in by the caller; nothing here reads a clock.
Every value is frozen: transitions in ``lifecycle.py`` return new values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any, NewType

from server.catalogue import Mode

TaskId = NewType("TaskId", str)  # the case id: one waiting task per case
AgentId = NewType("AgentId", str)  # the lawyer's user id
RegionCode = NewType("RegionCode", str)  # a code of server.catalogue.REGIONS


class PriorityClass(StrEnum):
    """Why a citizen is served ahead of others. ``PRIORITY_ORDER`` gives the order."""

    URGENT_RISK = "urgent_risk"  # dispute may turn violent or criminal (人民调解法 Art 25)
    DISABLED = "disabled"  # accessibility: 残疾人优先
    ELDERLY = "elderly"  # 适老化: elderly citizens
    LEGAL_AID = "legal_aid"  # eligible for legal aid
    NORMAL = "normal"


# Highest first. Safety before accessibility before entitlement before everyone else.
PRIORITY_ORDER: tuple[PriorityClass, ...] = (
    PriorityClass.URGENT_RISK,
    PriorityClass.DISABLED,
    PriorityClass.ELDERLY,
    PriorityClass.LEGAL_AID,
    PriorityClass.NORMAL,
)
PRIORITY_RANK: Mapping[PriorityClass, int] = {p: i for i, p in enumerate(PRIORITY_ORDER)}


class AgentState(StrEnum):
    OFFLINE = "offline"  # signed out
    AVAILABLE = "available"  # on duty, no contact
    OFFERED = "offered"  # an offer waits for this agent's answer
    BUSY = "busy"  # in one or more contacts (may still have spare text capacity)
    WRAP_UP = "wrap_up"  # writing notes after the last contact, until ``wrap_up_until``
    AWAY = "away"  # chose a pause, or missed too many offers in a row


ON_DUTY_STATES = frozenset(
    {AgentState.AVAILABLE, AgentState.OFFERED, AgentState.BUSY, AgentState.WRAP_UP}
)

DEFAULT_CAPACITY: Mapping[Mode, int] = {Mode.VIDEO: 1, Mode.AUDIO: 1, Mode.TEXT: 3}


@dataclass(frozen=True)
class Exclusion:
    """An agent who declined or missed this task is not offered it again until ``until``."""

    agent_id: AgentId
    until: float


@dataclass(frozen=True)
class HistoryEntry:
    """One routing event of a task (offered, declined, transferred, ...); the database keeps all."""

    at: float
    kind: str
    agent_id: AgentId | None = None
    note: str = ""


@dataclass(frozen=True)
class Task:
    """A waiting case. Its place in the queue is ``order_key``; nothing but priority moves it."""

    task_id: TaskId
    service_type: str
    category: str
    mode: Mode
    language: str
    region: RegionCode
    priority: PriorityClass
    created_at: float
    enqueued_at: float  # the place in the queue: kept through declines, transfers and rebuilds
    preferred_agent: AgentId | None = None  # 首问负责, or a transfer to a named agent
    preferred_since: float | None = None  # when the preference was set (None: enqueued_at)
    owner: AgentId | None = None  # the first-contact lawyer; never changed by a transfer
    callback: bool = False  # the citizen asked to be called back instead of waiting online
    callback_requested_at: float | None = None
    excluded: tuple[Exclusion, ...] = ()
    history: tuple[HistoryEntry, ...] = ()

    @property
    def order_key(self) -> tuple[int, float, str]:
        """Service order: priority class, then longest waiting, then case id (deterministic)."""
        return (PRIORITY_RANK[self.priority], self.enqueued_at, self.task_id)

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]

    def excludes(self, agent_id: AgentId, now: float) -> bool:
        return any(e.agent_id == agent_id and e.until > now for e in self.excluded)

    def with_event(self, entry: HistoryEntry, **changes: Any) -> Task:
        return replace(self, history=(*self.history, entry), **changes)

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies and is several times slower on this hot path
        return {
            "task_id": self.task_id, "service_type": self.service_type, "category": self.category,
            "mode": self.mode.value, "language": self.language, "region": self.region,
            "priority": self.priority.value, "created_at": self.created_at,
            "enqueued_at": self.enqueued_at, "preferred_agent": self.preferred_agent,
            "preferred_since": self.preferred_since, "owner": self.owner, "callback": self.callback,
            "callback_requested_at": self.callback_requested_at,
            "excluded": [{"agent_id": e.agent_id, "until": e.until} for e in self.excluded],
            "history": [{"at": h.at, "kind": h.kind, "agent_id": h.agent_id, "note": h.note}
                        for h in self.history],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Task:
        data = dict(raw)
        data["mode"] = Mode(data["mode"])
        data["priority"] = PriorityClass(data["priority"])
        data["excluded"] = tuple(Exclusion(**e) for e in data.get("excluded", ()))
        data["history"] = tuple(HistoryEntry(**h) for h in data.get("history", ()))
        return cls(**data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Task:
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True)
class Contact:
    """A case an agent is serving now."""

    task_id: TaskId
    mode: Mode
    since: float


@dataclass(frozen=True)
class Agent:
    """A lawyer on the hotline. ``version`` is the store's optimistic-concurrency counter."""

    agent_id: AgentId
    skills: Mapping[str, int]  # category -> level 1 (can answer) .. 5 (specialist)
    languages: frozenset[str]
    region: RegionCode  # home region
    capacity: Mapping[Mode, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    state: AgentState = AgentState.OFFLINE
    idle_since: float = 0.0  # when the agent last became free; longest idle is offered first
    wrap_up_until: float | None = None
    missed_offers: int = 0  # consecutive offers that timed out
    contacts: tuple[Contact, ...] = ()
    version: int = 0

    def load(self) -> Fraction:
        """Share of the agent in use: a contact of mode m takes 1/capacity[m]."""
        return sum((Fraction(1, self.capacity[c.mode]) for c in self.contacts), Fraction(0))

    def has_room_for(self, mode: Mode) -> bool:
        """Spare capacity: one call, or up to capacity[text] chats; calls and chats do not mix
        unless their shares fit in one agent (with the defaults they do not)."""
        slots = self.capacity.get(mode, 0)
        if slots <= 0:
            return False
        if not self.contacts:
            return True
        # integer shares of a common denominator: exact, and far cheaper than Fraction
        whole = math.lcm(*(n for n in self.capacity.values() if n > 0))
        used = sum(whole // self.capacity[c.mode] for c in self.contacts)
        return used + whole // slots <= whole

    def servable_modes(self) -> frozenset[Mode]:
        """The modes the agent has room for now (one pass; routing asks this of every agent)."""
        if not self.contacts:
            return frozenset(m for m, n in self.capacity.items() if n > 0)
        whole = math.lcm(*(n for n in self.capacity.values() if n > 0))
        used = sum(whole // self.capacity[c.mode] for c in self.contacts)
        return frozenset(m for m, n in self.capacity.items() if n > 0 and used + whole // n <= whole)

    def on_duty(self) -> bool:
        return self.state in ON_DUTY_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id, "skills": dict(self.skills),
            "languages": sorted(self.languages), "region": self.region,
            "capacity": {m.value: n for m, n in self.capacity.items()}, "state": self.state.value,
            "idle_since": self.idle_since, "wrap_up_until": self.wrap_up_until,
            "missed_offers": self.missed_offers,
            "contacts": [{"task_id": c.task_id, "mode": c.mode.value, "since": c.since}
                         for c in self.contacts],
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Agent:
        data = dict(raw)
        data["languages"] = frozenset(data["languages"])
        data["capacity"] = {Mode(m): int(n) for m, n in data["capacity"].items()}
        data["state"] = AgentState(data["state"])
        data["contacts"] = tuple(
            Contact(TaskId(c["task_id"]), Mode(c["mode"]), c["since"]) for c in data["contacts"]
        )
        return cls(**data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Agent:
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True)
class Offer:
    """A task offered to one agent until ``deadline``."""

    task_id: TaskId
    agent_id: AgentId
    offered_at: float
    deadline: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Offer:
        data = json.loads(raw)
        return cls(TaskId(data["task_id"]), AgentId(data["agent_id"]),
                   float(data["offered_at"]), float(data["deadline"]))


@dataclass(frozen=True)
class RoutingConfig:
    """Every tunable of the routing policy, with the defaults docs/routing.md explains."""

    neighbour_after_s: float = 60.0  # stage 1: neighbouring regions become eligible
    any_region_after_s: float = 180.0  # stage 2: every region
    skill_minimums: tuple[int, int, int] = (3, 2, 1)  # minimum skill level in stage 0, 1, 2
    offer_timeout_s: float = 20.0
    missed_offers_before_away: int = 3
    exclusion_s: float = 300.0  # a declined/missed task is not re-offered to that agent meanwhile
    wrap_up_s: float = 30.0
    preferred_wait_s: float = 120.0  # how long a task waits for its on-duty preferred agent
    service_level_s: float = 60.0  # service level: share answered within this many seconds
    callback_threshold_s: float = 300.0  # offer a callback when the estimated wait passes this

    def __post_init__(self) -> None:
        if not 0 <= self.neighbour_after_s <= self.any_region_after_s:
            raise ValueError("need 0 <= neighbour_after_s <= any_region_after_s")
        lows = self.skill_minimums
        if len(lows) != 3 or not all(1 <= x <= 5 for x in lows) or list(lows) != sorted(lows, reverse=True):
            raise ValueError("skill_minimums: three levels 1-5, never rising")
        if self.offer_timeout_s <= 0 or self.missed_offers_before_away < 1:
            raise ValueError("offer_timeout_s > 0 and missed_offers_before_away >= 1")

    @property
    def stage_starts(self) -> tuple[float, float, float]:
        """Wait (seconds since enqueued) at which each widening stage begins."""
        return (0.0, self.neighbour_after_s, self.any_region_after_s)

    def stage(self, waited_s: float) -> int:
        """0: own region, full skill; 1: neighbours, relaxed skill; 2: everywhere, minimum skill."""
        if waited_s >= self.any_region_after_s:
            return 2
        return 1 if waited_s >= self.neighbour_after_s else 0


class RoutingError(Exception):
    """A transition that the current state does not allow; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
