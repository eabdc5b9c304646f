"""The one case registry (统一办件库): every application of the one window, whatever the service,
with its number, state, owner, clocks, materials and an append-only hash-chained timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_institution_state", "institution", "state"),
                      Index("ix_applications_phone", "applicant_phone"),
                      Index("ix_applications_proxy_phone", "proxy_phone"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The readable case number, e.g. 柯援〔2026〕12号; unique per institution prefix and year.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    item: Mapped[str] = mapped_column(String(48))
    flow: Mapped[str] = mapped_column(String(48))
    state: Mapped[str] = mapped_column(String(32))
    # Bumped by every transition: a change applies only to the version it was decided on.
    version: Mapped[int] = mapped_column(Integer, default=1)
    institution: Mapped[str] = mapped_column(String(48))
    region: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    applicant_name: Mapped[str] = mapped_column(String(64))
    applicant_phone: Mapped[str] = mapped_column(String(16))
    applicant_id_number: Mapped[str | None] = mapped_column(String(18), nullable=True)
    respondent_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    respondent_phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    statement: Mapped[str] = mapped_column(Text)  # the facts and what the applicant asks
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # 首问负责: whoever received it stays answerable until another accepts it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Who filed: "self", or staff filing for the citizen ("window", "advisor", "lawyer",
    # "referrer"), or a proxy with the relationship recorded in ``filed_relationship``.
    filed_as: Mapped[str] = mapped_column(String(16))
    filed_by: Mapped[str] = mapped_column(String(48))
    filed_relationship: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A proxy who acts for the applicant (signed in with this phone they see and act on it);
    # every step they take is recorded as theirs on the timeline.
    proxy_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    proxy_phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    proxy_relationship: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    assigned_lawyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    mediation_case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApplicationEvent(Base):
    """The timeline: append-only; each ``hash`` covers the previous hash and this row (SHA-256)."""

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_app", "application_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApplicationClock(Base):
    """One legal time limit of one application: started, due, paused or stopped."""

    __tablename__ = "application_clocks"
    __table_args__ = (UniqueConstraint("application_id", "code"),
                      Index("ix_application_clocks_due", "stopped_at", "due"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    code: Mapped[str] = mapped_column(String(48))
    institution: Mapped[str] = mapped_column(String(48))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due: Mapped[date] = mapped_column(Date)
    warn_days: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApplicationMaterial(Base):
    """A material of an application and where it stands: provided (a stored file), missing
    (told once), deferred (容缺受理, with a deadline) or replaced by a signed commitment (告知承诺)."""

    __tablename__ = "application_materials"
    __table_args__ = (Index("ix_application_materials_app", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    code: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(128), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(48), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stored_as: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the file's ID
    commitment_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseNumberCounter(Base):
    """The last number given per prefix and year: 柯援〔2026〕12号 is (柯援, 2026, 12)."""

    __tablename__ = "case_number_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
