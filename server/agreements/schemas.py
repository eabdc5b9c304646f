"""Validated agreement and court payloads, REST and socket (unknown fields are refused)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator

from server.agreements.content import AgreementContent
from server.court.rules import DISMISSAL_GROUNDS
from server.mediation.schemas import ID, ID4, CaseRef
from server.schemas import Edge

SHA256 = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class SaveBody(CaseRef):
    """A new version, based on the version the editor started from."""

    base_version: int = Field(ge=1, le=100_000)
    content: AgreementContent


class CommentBody(CaseRef):
    version: int = Field(ge=1, le=100_000)
    clause: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1, max_length=1000)


class PublicJwk(Edge):
    """The public half of a WebCrypto key as ``exportKey("jwk")`` gives it."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")
    y: str = Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")
    ext: bool | None = None
    key_ops: list[str] | None = Field(default=None, max_length=4)


class IdentityBody(Edge):
    name: str = Field(min_length=1, max_length=50)
    id_last4: str = ID4


class SignBody(Edge):
    version: int = Field(ge=1, le=100_000)
    sha256: str = SHA256
    signature: str = Field(min_length=86, max_length=88, pattern=r"^[A-Za-z0-9_-]+={0,2}$")
    public_key: PublicJwk
    identity: IdentityBody | None = None


class ProposeBody(Edge):
    court_code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")


class PerformanceBody(Edge):
    obligation_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    status: Literal["performed", "partly", "not_performed"]
    performed_on: date | None = None
    note: str = Field(default="", max_length=1000)


class SessionBody(Edge):
    """The court's confirmation session: when both parties were asked together, and the
    record of what they said (voluntariness, understanding of the terms)."""

    at: datetime
    record: str = Field(default="", max_length=4000)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("时间需带时区 / give a time zone (ISO 8601 with offset)")
        return value


class DecisionBody(Edge):
    decision: Literal["confirmed", "dismissed"]
    ground: str | None = Field(default=None, max_length=32)
    reasons: str = Field(default="", max_length=4000)

    @field_validator("ground")
    @classmethod
    def _ground(cls, value: str | None) -> str | None:
        if value is not None and value not in DISMISSAL_GROUNDS:
            raise ValueError(f"未知的驳回理由 / unknown ground {value!r}")
        return value


class ApplicationRef(Edge):
    application_id: str = ID
