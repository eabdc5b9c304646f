"""recordings: metadata, segments, manifest chain, consent ledger, deletions

Revision ID: 0002_recordings
Revises: 0001
Create Date: 2026-11-27 07:20:56.121230
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.timestamps

revision: str = "0002_recordings"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("consents",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("room_id", sa.String(length=32), nullable=True),
    sa.Column("participant_id", sa.String(length=64), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("purpose", sa.String(length=32), nullable=False),
    sa.Column("decision", sa.String(length=8), nullable=False),
    sa.Column("text_shown", sa.Text(), nullable=False),
    sa.Column("text_version", sa.String(length=32), nullable=False),
    sa.Column("decided_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_case", ["case_id", "id"], unique=False)

    op.create_table("recordings",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("room_id", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("started_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("ended_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("participants", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_case", ["case_id"], unique=False)
        batch_op.create_index("ix_recordings_status", ["status", "started_at"], unique=False)

    op.create_table("recording_deletions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("deleted_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(length=64), nullable=False),
    sa.Column("retention_days", sa.Integer(), nullable=True),
    sa.Column("files", sa.JSON(), nullable=False),
    sa.Column("manifest_head", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("recording_events",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.String(length=32), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("at", sa.String(length=40), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("prev", sa.String(length=64), nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("recording_id", "seq", name="uq_recording_event_seq")
    )
    op.create_table("recording_segments",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.String(length=32), nullable=False),
    sa.Column("participant_id", sa.String(length=64), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("path", sa.String(length=200), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("start_ms", sa.BigInteger(), nullable=False),
    sa.Column("end_ms", sa.BigInteger(), nullable=False),
    sa.Column("codecs", sa.JSON(), nullable=False),
    sa.Column("recovered", sa.Boolean(), nullable=False),
    sa.Column("closed_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("recording_id", "path", name="uq_recording_segment_path")
    )


def downgrade() -> None:
    op.drop_table("recording_segments")
    op.drop_table("recording_events")
    op.drop_table("recording_deletions")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_status")
        batch_op.drop_index("ix_recordings_case")

    op.drop_table("recordings")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_case")

    op.drop_table("consents")
