"""Recording metadata in the database (the source of truth; files hold only media).

``recording_events`` is the manifest's hash chain: one row per entry, appended only. The
consent ledger and the deletion records are never updated or deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class RecordingStatus:
    RECORDING = "recording"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # the process died while recording; see recordings.recovery
    PURGED = "purged"            # files deleted by retention; the row and its chain stay


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_case", "case_id"),
                      Index("ix_recordings_status", "status", "started_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32))  # a consultation's or a mediation's
    room_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)


class RecordingSegment(Base):
    """A closed segment file: ``path`` is relative to the recording's folder."""

    __tablename__ = "recording_segments"
    __table_args__ = (UniqueConstraint("recording_id", "path", name="uq_recording_segment_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"))
    participant_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    codecs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recovered: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordingEvent(Base):
    """One manifest entry (``recordings.manifest``): joins, leaves, pauses, segments, consents,
    gaps, and later caucus segments. ``hash`` covers the entry and ``prev``."""

    __tablename__ = "recording_events"
    __table_args__ = (UniqueConstraint("recording_id", "seq", name="uq_recording_event_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 exactly as hashed
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Consent(Base):
    """The consent ledger: who decided what, when, having been shown which text."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32))  # a consultation's or a mediation's
    room_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    participant_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))  # "recording"; later other steps
    decision: Mapped[str] = mapped_column(String(8))  # granted | refused
    text_shown: Mapped[str] = mapped_column(Text)
    text_version: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordingDeletion(Base):
    """A recording's files were deleted (retention); this row stays."""

    __tablename__ = "recording_deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"))
    case_id: Mapped[str] = mapped_column(String(32))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(64))
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    manifest_head: Mapped[str] = mapped_column(String(64))
