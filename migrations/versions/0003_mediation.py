"""mediation: cases, participants and invitations, documents, chat, hash-chained timeline

Revision ID: 0003_mediation
Revises: 0002_recordings
Create Date: 2026-11-27 07:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.timestamps

revision: str = "0003_mediation"
down_revision: str | None = "0002_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("mediation_cases",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("category", sa.String(length=32), nullable=False),
    sa.Column("statement", sa.Text(), nullable=False),
    sa.Column("applicant_name", sa.String(length=64), nullable=False),
    sa.Column("applicant_phone", sa.String(length=16), nullable=False),
    sa.Column("respondent_name", sa.String(length=64), nullable=False),
    sa.Column("respondent_phone", sa.String(length=16), nullable=False),
    sa.Column("mediator_id", sa.Integer(), nullable=False),
    sa.Column("source_case_id", sa.String(length=32), nullable=True),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("accepted_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("deadline_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("disclosure", sa.Text(), nullable=True),
    sa.Column("conflict_declared", sa.Boolean(), nullable=False),
    sa.Column("escalation_risk", sa.Boolean(), nullable=False),
    sa.Column("escalation_note", sa.Text(), nullable=True),
    sa.Column("closed_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("close_reason", sa.Text(), nullable=True),
    sa.Column("scheduled_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("room_id", sa.String(length=32), nullable=True),
    sa.Column("room_state", sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(["mediator_id"], ["users.id"], ),
    sa.ForeignKeyConstraint(["source_case_id"], ["cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("mediation_cases", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_cases_mediator", ["mediator_id", "status"], unique=False)

    op.create_table("mediation_documents",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("uploaded_by", sa.String(length=32), nullable=False),
    sa.Column("filename", sa.String(length=128), nullable=False),
    sa.Column("content_type", sa.String(length=32), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("mediation_documents", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_documents_case", ["case_id"], unique=False)

    op.create_table("mediation_events",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(length=48), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(length=64), nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("mediation_events", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_events_case", ["case_id", "id"], unique=False)

    op.create_table("mediation_messages",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("room_id", sa.String(length=32), nullable=False),
    sa.Column("sender_id", sa.String(length=32), nullable=False),
    sa.Column("sender_role", sa.String(length=16), nullable=False),
    sa.Column("sender_name", sa.String(length=64), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("audience", sa.JSON(), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("mediation_messages", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_messages_case", ["case_id", "id"], unique=False)

    op.create_table("mediation_participants",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("side", sa.String(length=16), nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("phone", sa.String(length=16), nullable=True),
    sa.Column("id_last4", sa.String(length=4), nullable=True),
    sa.Column("user_id", sa.Integer(), nullable=True),
    sa.Column("invite_code", sa.String(length=16), nullable=True),
    sa.Column("invite_expires_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("verified_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("consent_mediation_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("consent_recording_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("objection", sa.Text(), nullable=True),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("invite_code")
    )
    with op.batch_alter_table("mediation_participants", schema=None) as batch_op:
        batch_op.create_index("ix_mediation_participants_case", ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mediation_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_participants_case")

    op.drop_table("mediation_participants")
    with op.batch_alter_table("mediation_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_messages_case")

    op.drop_table("mediation_messages")
    with op.batch_alter_table("mediation_events", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_events_case")

    op.drop_table("mediation_events")
    with op.batch_alter_table("mediation_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_documents_case")

    op.drop_table("mediation_documents")
    with op.batch_alter_table("mediation_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_cases_mediator")

    op.drop_table("mediation_cases")
