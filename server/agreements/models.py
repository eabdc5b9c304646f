"""The agreement schema: agreements with immutable versions, comments on clauses, signatures
(voided, never deleted, when a later version replaces theirs), performance records, joint
applications for judicial confirmation, electronic service receipts, and clerks' courts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class Agreement(Base):
    """One per mediation case. ``current_version`` moves only by a conditional update from the
    version a save was based on (optimistic concurrency)."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # drafting | effective
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Days-left thresholds of the 30-day confirmation window already reminded.
    reminders_sent: Mapped[list[int]] = mapped_column(JSON, default=list)


class AgreementVersion(Base):
    """A saved version: its content, the exact canonical text and its SHA-256. Never changed."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "number", name="uq_agreement_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    canonical: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(48))
    author_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgreementComment(Base):
    __tablename__ = "agreement_comments"
    __table_args__ = (Index("ix_agreement_comments_agreement", "agreement_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    version: Mapped[int] = mapped_column(Integer)
    clause: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(48))
    author_role: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgreementSignature(Base):
    """A verified signature on one version (``signer_id`` "committee" for the seal), with the
    public key as sent (JWK) and as DER SPKI, its fingerprint, and where it came from."""

    __tablename__ = "agreement_signatures"
    __table_args__ = (Index("ix_agreement_signatures_version", "agreement_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[str] = mapped_column(String(48))
    signer_role: Mapped[str] = mapped_column(String(16))
    signer_name: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(Text)
    public_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    public_key_spki: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ObligationPerformance(Base):
    """The mediator's follow-up of one agreed term (人民调解法 Art 31). Append-only: the latest
    row per obligation is its state."""

    __tablename__ = "obligation_performance"
    __table_args__ = (Index("ix_obligation_performance_agreement", "agreement_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    obligation_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # performed | partly | not_performed
    performed_on: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(48))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConfirmationApplication(Base):
    """A joint application for judicial confirmation: proposed by one party with a court, and
    submitted (with its package) once every party has confirmed it; then the court's decision."""

    __tablename__ = "confirmation_applications"
    __table_args__ = (Index("ix_confirmation_applications_court", "court_code", "status"),
                      Index("ix_confirmation_applications_agreement", "agreement_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    court_code: Mapped[str] = mapped_column(String(32))
    # proposed | submitted | confirmed | dismissed | withdrawn
    status: Mapped[str] = mapped_column(String(16))
    proposed_by: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # id -> ISO time
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    package_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    package_head: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    session_record: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The confirmation session held in a room (docs/agreements.md): room_id, started_at,
    # ended_at, presiding, attended [{id, role, name}].
    session_room: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ground: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ServiceReceipt(Base):
    """Electronic service of a decision on one recipient: sent, and delivered when it reached
    their system (their client fetched it), which makes the receipt."""

    __tablename__ = "service_receipts"
    __table_args__ = (Index("ix_service_receipts_application", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("confirmation_applications.id"))
    recipient_id: Mapped[str] = mapped_column(String(48))
    recipient_name: Mapped[str] = mapped_column(String(64))
    document_sha256: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ClerkCourt(Base):
    """Which court a clerk account works for (``parley user add --role clerk --court CODE``)."""

    __tablename__ = "clerk_courts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    court_code: Mapped[str] = mapped_column(String(32))
