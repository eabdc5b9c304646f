"""SMS through a provider: every message with its delivery state, and opt-outs

Revision ID: 0016_sms
Revises: 0015_case_intake_key
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0016_sms"
down_revision: str | None = "0015_case_intake_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("template", sa.String(48), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("biz_id", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sms_messages_recipient", "sms_messages", ["recipient", "created_at"])
    op.create_index("ix_sms_messages_retry", "sms_messages", ["state", "next_attempt_at"])
    op.create_index("ix_sms_messages_biz", "sms_messages", ["biz_id"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(16), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
    op.drop_table("sms_messages")
