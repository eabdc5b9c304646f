"""Every SMS handed to the provider, with its delivery state, and the numbers that opted out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base
from server.timestamps import UTCDateTime


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_recipient", "recipient", "created_at"),
                      Index("ix_sms_messages_retry", "state", "next_attempt_at"),
                      Index("ix_sms_messages_biz", "biz_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(48))
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    # queued -> sent -> delivered | undelivered; queued/failed -> retried; failed (given up)
    state: Mapped[str] = mapped_column(String(12))
    biz_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SmsOptOut(Base):
    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
