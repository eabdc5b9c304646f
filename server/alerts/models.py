"""Raised alerts, kept: what fired, why, who acknowledged it and when it stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_raised", "raised_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(120))
    # "rule|scope" while the condition holds, NULL once it stopped: the unique index lets one
    # process of a cluster raise it, whichever evaluates first (NULLs never collide).
    open_key: Mapped[str | None] = mapped_column(String(170), unique=True, nullable=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)  # rule, figures, thresholds
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acked_by_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)
