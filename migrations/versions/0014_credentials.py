"""access holes (issue 14): one-time invitation codes, wrong-try locks, one-time signing codes,
the notification outbox, and documents private to a caucus group

Revision ID: 0014_credentials
Revises: 0013_quality
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.timestamps

revision: str = "0014_credentials"
down_revision: str | None = "0013_quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp() -> server.timestamps.UTCDateTime:
    return server.timestamps.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("mediation_participants") as batch_op:
        batch_op.add_column(sa.Column("invite_redeemed_at", _stamp(), nullable=True))
        batch_op.add_column(sa.Column("locks_cleared_at", _stamp(), nullable=True))
    with op.batch_alter_table("mediation_cases") as batch_op:
        batch_op.add_column(sa.Column("locks_cleared_at", _stamp(), nullable=True))
    with op.batch_alter_table("mediation_documents") as batch_op:
        batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=True))
    op.create_table(
        "credential_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", _stamp(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=True),
        sa.Column("participant_id", sa.String(32), nullable=True),
        sa.Column("address", sa.String(64), nullable=True))
    op.create_index("ix_credential_failures_case", "credential_failures", ["case_id", "at"])
    op.create_index("ix_credential_failures_address", "credential_failures", ["address", "at"])
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.Column("expires_at", _stamp(), nullable=False),
        sa.Column("used_at", _stamp(), nullable=True))
    op.create_index("ix_one_time_codes_holder", "one_time_codes",
                    ["purpose", "holder", "created_at"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("template", sa.String(48), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False))
    op.create_index("ix_notification_outbox_created", "notification_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_table("notification_outbox")
    op.drop_table("one_time_codes")
    op.drop_table("credential_failures")
    with op.batch_alter_table("mediation_documents") as batch_op:
        batch_op.drop_column("audience")
    with op.batch_alter_table("mediation_cases") as batch_op:
        batch_op.drop_column("locks_cleared_at")
    with op.batch_alter_table("mediation_participants") as batch_op:
        batch_op.drop_column("locks_cleared_at")
        batch_op.drop_column("invite_redeemed_at")
