"""Who takes part in a session room: each member's role and side. The vocabulary of the stored
participants, of validated payloads and of the room's state machine (``rooms.caucus``)."""

from __future__ import annotations

from enum import StrEnum


class MemberRole(StrEnum):
    MEDIATOR = "mediator"
    CO_MEDIATOR = "co_mediator"
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    AGENT = "agent"
    RELATIVE = "relative"
    EXPERT = "expert"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"
    # A court clerk holding a judicial-confirmation session in the case's room
    # (docs/agreements.md): hosts and controls the room like the mediator.
    PRESIDING = "presiding"


class Side(StrEnum):
    """Whose side a member is on; a caucus usually splits along it."""

    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    NEUTRAL = "neutral"
