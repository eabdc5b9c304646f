"""Validated mediation payloads, REST and socket (edge models: unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from server import catalogue
from server.members import MemberRole, Side
from server.schemas import Edge, normalise_phone

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
ID4 = Field(min_length=4, max_length=4, pattern=r"^[0-9Xx]{4}$")
INVITEE_ROLES = frozenset(MemberRole) - {MemberRole.MEDIATOR, MemberRole.PRESIDING}


class CreateMediationBody(Edge):
    applicant_name: str = Field(min_length=1, max_length=50)
    applicant_phone: str = Field(max_length=32)
    respondent_name: str = Field(min_length=1, max_length=50)
    respondent_phone: str = Field(max_length=32)
    category: str = Field(max_length=32)
    statement: str = Field(min_length=1, max_length=2000)
    source_case_id: str | None = Field(default=None, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("applicant_phone", "respondent_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value not in catalogue.codes(catalogue.CATEGORIES):
            raise ValueError(f"未知的纠纷类型 / unknown category {value!r}")
        return value


class AcceptBody(Edge):
    disclosure: str = Field(min_length=1, max_length=2000)
    conflict_declared: bool


class InviteBody(Edge):
    role: MemberRole
    name: str = Field(min_length=1, max_length=50)
    id_last4: str = ID4
    side: Side | None = None
    phone: str | None = Field(default=None, max_length=32)
    valid_hours: int = Field(default=72, ge=1, le=24 * 30)

    @field_validator("role")
    @classmethod
    def _role(cls, value: MemberRole) -> MemberRole:
        if value not in INVITEE_ROLES:
            raise ValueError("调解员不通过邀请加入 / the mediator is not invited")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None


class ScheduleBody(Edge):
    at: datetime

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("时间需带时区 / give a time zone (ISO 8601 with offset)")
        return value


class RiskBody(Edge):
    note: str = Field(min_length=1, max_length=1000)


class CloseBody(Edge):
    outcome: Literal["settled", "failed", "withdrawn"]
    reason: str = Field(default="", max_length=2000)


class RedeemBody(Edge):
    code: str = Field(min_length=6, max_length=16, pattern=r"^[A-Za-z0-9-]+$")


class RespondBody(Edge):
    """A party's answer to the mediator's disclosure, or a refusal to mediate."""

    decision: Literal["consent", "object", "refuse"]
    reason: str = Field(default="", max_length=1000)


# --- socket payloads ---------------------------------------------------------------------

class CaseRef(Edge):
    case_id: str = ID


class LobbyBody(CaseRef):
    name: str = Field(min_length=1, max_length=50)
    id_last4: str = ID4
    consent_mediation: bool
    consent_recording: bool
    sham_warning_read: bool


class MemberRef(CaseRef):
    participant_id: str = ID


class MuteBody(MemberRef):
    muted: bool


class CaucusBody(CaseRef):
    with_side: Side | None = None
    groups: list[list[str]] | None = Field(default=None, max_length=8)


class MoveBody(MemberRef):
    group: int = Field(ge=0, le=8)


class RecordingBody(CaseRef):
    paused: bool


class HandBody(CaseRef):
    raised: bool


class ChatBody(CaseRef):
    text: str = Field(min_length=1, max_length=2000)


class SdpBody(CaseRef):
    sdp: str = Field(min_length=1, max_length=64 * 1024)


class CandidateInner(Edge):
    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


class CandidateBody(CaseRef):
    candidate: CandidateInner


class ShowDocumentBody(CaseRef):
    document_id: str = ID
