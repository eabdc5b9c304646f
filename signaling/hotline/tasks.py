"""From the database's cases and accounts to the router's tasks and agents (pure)."""

from __future__ import annotations

from server.catalogue import CATEGORIES, Mode, codes
from server.models import Case, User
from server.schemas import IntakeBody
from signaling.routing.model import Agent, AgentId, PriorityClass, RegionCode, Task, TaskId

DEFAULT_SKILL_LEVEL = 3
# The console serves one contact at a time; the router could give a lawyer up to three chats.
CONSOLE_CAPACITY = {Mode.VIDEO: 1, Mode.AUDIO: 1, Mode.TEXT: 1}


def priority_for(intake: IntakeBody) -> PriorityClass:
    """The highest priority ground the citizen declared (order as in PRIORITY_ORDER)."""
    if intake.urgent:
        return PriorityClass.URGENT_RISK
    if intake.disabled:
        return PriorityClass.DISABLED
    if intake.elderly:
        return PriorityClass.ELDERLY
    if intake.legal_aid:
        return PriorityClass.LEGAL_AID
    return PriorityClass.NORMAL


def task_for(case: Case, preferred_agent: int | None = None) -> Task:
    """The waiting task of ``case``; its place is the case's ``queued_at``, kept for ever."""
    enqueued = case.queued_at.timestamp()
    return Task(
        task_id=TaskId(case.id),
        service_type=case.service_type,
        category=case.category,
        mode=Mode(case.mode),
        language=case.language,
        region=RegionCode(case.region),
        priority=PriorityClass(case.priority),
        created_at=case.created_at.timestamp(),
        enqueued_at=enqueued,
        preferred_agent=AgentId(str(preferred_agent)) if preferred_agent is not None else None,
        owner=AgentId(str(case.owner_id)) if case.owner_id is not None else None,
        callback=case.callback,
        callback_requested_at=(case.callback_requested_at.timestamp()
                               if case.callback_requested_at else None),
    )


def parse_skills(raw: object) -> dict[str, int]:
    """Skills as stored: {"labour": 4}; a list of categories means the default level. A lawyer
    with no skills listed is a generalist: the default level in every category."""
    if isinstance(raw, dict) and raw:
        return {str(k): max(1, min(5, int(v))) for k, v in raw.items()}
    if isinstance(raw, list) and raw:
        return {str(k): DEFAULT_SKILL_LEVEL for k in raw}
    return {code: DEFAULT_SKILL_LEVEL for code in codes(CATEGORIES)}


def agent_for(user: User, default_region: str) -> Agent:
    """The routing agent of a lawyer's account (offline until signed in)."""
    return Agent(
        agent_id=AgentId(str(user.id)),
        skills=parse_skills(user.skills),
        languages=frozenset(user.languages or ["zh"]),
        region=RegionCode(user.region or default_region),
        capacity=dict(CONSOLE_CAPACITY),
    )
