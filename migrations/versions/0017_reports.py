"""Reports: daily aggregates, the ledger of counted facts, the job's watermarks

Revision ID: 0017_reports
Revises: 0016_sms
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0017_reports"
down_revision: str | None = "0016_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("offered", "answered", "abandoned", "answered_in_sl", "handled", "transfers",
          "callbacks", "callbacks_kept", "ratings", "rating_sum", "low_ratings", "complaints",
          "reviews", "review_points", "review_max")


def _figures() -> list[sa.Column[object]]:
    return [
        *[sa.Column(name, sa.Integer, nullable=False) for name in COUNTS[:4]],
        sa.Column("wait_sum_s", sa.Float, nullable=False),
        sa.Column("handled", sa.Integer, nullable=False),
        sa.Column("handle_sum_s", sa.Float, nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False) for name in COUNTS[5:]],
        sa.Column("wait_hist", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
    ]


def upgrade() -> None:
    for table, period in (("report_days", "day"), ("report_months", "month")):
        op.create_table(
            table,
            sa.Column(period, sa.Date, primary_key=True),
            sa.Column("dim", sa.String(16), primary_key=True),
            sa.Column("key", sa.String(64), primary_key=True),
            *_figures(),
        )
    op.create_table(
        "report_clock_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("institution", sa.String(48), primary_key=True),
        sa.Column("code", sa.String(48), primary_key=True),
        sa.Column("kept", sa.Integer, nullable=False),
        sa.Column("missed", sa.Integer, nullable=False),
    )
    op.create_table(
        "report_ledger",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("ref", sa.String(80), primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
    )
    op.create_table(
        "report_watermarks",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
    )
    op.create_index("ix_cases_ended_at", "cases", ["ended_at"])
    op.create_index("ix_ratings_created_at", "ratings", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ratings_created_at", "ratings")
    op.drop_index("ix_cases_ended_at", "cases")
    for table in ("report_watermarks", "report_ledger", "report_clock_days", "report_months",
                  "report_days"):
        op.drop_table(table)
