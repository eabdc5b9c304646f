"""The daily aggregates, the ledger of what they already count, and the job's watermarks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models import Base, Case
from server.ratings.models import Rating
from server.timestamps import UTCDateTime


class _Figures:
    """The additive figures of server/reports/tally.py ``Counts``, as columns."""

    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    answered_in_sl: Mapped[int] = mapped_column(Integer, default=0)
    wait_sum_s: Mapped[float] = mapped_column(Float, default=0.0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    handle_sum_s: Mapped[float] = mapped_column(Float, default=0.0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    callbacks: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_kept: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    low_ratings: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    review_points: Mapped[int] = mapped_column(Integer, default=0)
    review_max: Mapped[int] = mapped_column(Integer, default=0)
    # server/reports/histogram.py: answered contacts per bucket of how long they waited.
    wait_hist: Mapped[list[int]] = mapped_column(JSON, default=list)
    reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ReportDay(_Figures, Base):
    """One Asia/Shanghai day's figures for one key of one dimension."""

    __tablename__ = "report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportMonth(_Figures, Base):
    """The same for a calendar month (``month``: its first day), kept beside the days by the
    same job in the same transaction: a month's report reads a month's breakdown in one row per
    key instead of one per key and day (bench/reports.py)."""

    __tablename__ = "report_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportClockDay(Base):
    """Legal clocks kept and missed on one day, per institution and clock."""

    __tablename__ = "report_clock_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    institution: Mapped[str] = mapped_column(String(48), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    kept: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)


class ReportLedger(Base):
    """Each fact the aggregates count, once: written in the same transaction as the rows."""

    __tablename__ = "report_ledger"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)  # contact, rating, ...
    ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[date] = mapped_column(Date)


class ReportWatermark(Base):
    """How far each source has been read, committed with the rows it led to."""

    __tablename__ = "report_watermarks"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=0)


# The job reads settled contacts and new ratings by time: indexes on the tables it reads.
CASES_ENDED_INDEX = Index("ix_cases_ended_at", Case.ended_at)
RATINGS_CREATED_INDEX = Index("ix_ratings_created_at", Rating.created_at)
