"""Early warning: raised alerts with their explanation and acknowledgement

Revision ID: 0018_alerts
Revises: 0016_sms
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0018_alerts"
down_revision: str | None = "0017_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("open_key", sa.String(170), nullable=True, unique=True),
        sa.Column("explanation", sa.JSON, nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("acked_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("acked_by_name", sa.String(64), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("ack_note", sa.Text, nullable=True),
    )
    op.create_index("ix_alerts_raised", "alerts", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_raised", "alerts")
    op.drop_table("alerts")
