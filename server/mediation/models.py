"""The mediation schema: cases, participants with their invitations, documents, chat and an
append-only, hash-chained timeline. Live room state is snapshotted on the case row so a restart
(or another process) rebuilds the room."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class MediationCase(Base):
    __tablename__ = "mediation_cases"
    __table_args__ = (Index("ix_mediation_cases_mediator", "mediator_id", "status"),
                      Index("ux_mediation_cases_case_number", "case_number", unique=True))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # created -> accepted -> settled | failed | refused (a party said no) | withdrawn
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    applicant_name: Mapped[str] = mapped_column(String(64))
    applicant_phone: Mapped[str] = mapped_column(String(16))
    respondent_name: Mapped[str] = mapped_column(String(64))
    respondent_phone: Mapped[str] = mapped_column(String(16))
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source_case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disclosure: Mapped[str | None] = mapped_column(Text, nullable=True)
    conflict_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    room_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    room_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Wrong tries at the case's credential checks before this do not count (the mediator
    # re-issued an invitation after a lock; server.credentials).
    locks_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The readable case number (柯调〔2026〕12号, server.mediation.numbers) and the committee it
    # was numbered by; None for cases created before migration 0020.
    case_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    committee_code: Mapped[str | None] = mapped_column(String(48), nullable=True)


class MediationParticipant(Base):
    """Someone in a case: the mediator (a staff user) or an invitee, with their invitation
    (short code, expiry), identity check and per-step consents."""

    __tablename__ = "mediation_participants"
    __table_args__ = (Index("ix_mediation_participants_case", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"))
    role: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    id_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    invite_code: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The code is one-time: set when it is exchanged for the token, never reset (a re-issue
    # makes a new code).
    invite_redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locks_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_mediation_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_recording_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    objection: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MediationDocument(Base):
    __tablename__ = "mediation_documents"
    __table_args__ = (Index("ix_mediation_documents_case", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"))
    uploaded_by: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who may see it: None for everyone in the case; the participant IDs of a caucus group
    # when it was shared there (uploaded or shown during the caucus), so the others neither
    # see it nor its name.
    audience: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class MediationMessage(Base):
    """Room chat. ``audience``: the participant IDs who could read it when it was written (a
    caucus group), so history is filtered the same way."""

    __tablename__ = "mediation_messages"
    __table_args__ = (Index("ix_mediation_messages_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"))
    room_id: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(32))
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MediationEvent(Base):
    """The case timeline and audit log: append-only; each row's ``hash`` covers the previous
    row's hash and this row's content (SHA-256), so a changed or deleted row is detectable."""

    __tablename__ = "mediation_events"
    __table_args__ = (Index("ix_mediation_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
