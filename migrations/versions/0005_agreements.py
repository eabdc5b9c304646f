"""agreements: versions, comments, signatures, performance follow-up, confirmation
applications, service receipts, clerks" courts

Revision ID: 0005_agreements
Revises: 0004_routing
Create Date: 2026-11-27 07:44:20.269878
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.timestamps

revision: str = "0005_agreements"
down_revision: str | None = "0004_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("clerk_courts",
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("court_code", sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ),
    sa.PrimaryKeyConstraint("user_id")
    )
    op.create_table("agreements",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("current_version", sa.Integer(), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("effective_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("reminders_sent", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("case_id")
    )
    op.create_table("agreement_comments",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("agreement_id", sa.String(length=32), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("clause", sa.String(length=64), nullable=False),
    sa.Column("author_id", sa.String(length=48), nullable=False),
    sa.Column("author_role", sa.String(length=16), nullable=False),
    sa.Column("author_name", sa.String(length=64), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("agreement_comments", schema=None) as batch_op:
        batch_op.create_index("ix_agreement_comments_agreement", ["agreement_id", "id"], unique=False)

    op.create_table("agreement_signatures",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("agreement_id", sa.String(length=32), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("signer_id", sa.String(length=48), nullable=False),
    sa.Column("signer_role", sa.String(length=16), nullable=False),
    sa.Column("signer_name", sa.String(length=64), nullable=False),
    sa.Column("algorithm", sa.String(length=32), nullable=False),
    sa.Column("signature", sa.Text(), nullable=False),
    sa.Column("public_key", sa.JSON(), nullable=False),
    sa.Column("public_key_spki", sa.Text(), nullable=False),
    sa.Column("fingerprint", sa.String(length=64), nullable=False),
    sa.Column("signed_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("ip", sa.String(length=64), nullable=True),
    sa.Column("user_agent", sa.String(length=256), nullable=True),
    sa.Column("voided_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.create_index("ix_agreement_signatures_version", ["agreement_id", "version"], unique=False)

    op.create_table("agreement_versions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("agreement_id", sa.String(length=32), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("content", sa.JSON(), nullable=False),
    sa.Column("canonical", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("author_id", sa.String(length=48), nullable=False),
    sa.Column("author_name", sa.String(length=64), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("agreement_id", "number", name="uq_agreement_version")
    )
    op.create_table("confirmation_applications",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("agreement_id", sa.String(length=32), nullable=False),
    sa.Column("case_id", sa.String(length=32), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("court_code", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("proposed_by", sa.String(length=48), nullable=False),
    sa.Column("created_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("deadline_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("confirmations", sa.JSON(), nullable=False),
    sa.Column("submitted_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("package_sha256", sa.String(length=64), nullable=True),
    sa.Column("package_head", sa.String(length=64), nullable=True),
    sa.Column("session_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("session_record", sa.Text(), nullable=True),
    sa.Column("decision", sa.String(length=16), nullable=True),
    sa.Column("ground", sa.String(length=32), nullable=True),
    sa.Column("reasons", sa.Text(), nullable=True),
    sa.Column("decided_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("decided_by", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], ),
    sa.ForeignKeyConstraint(["case_id"], ["mediation_cases.id"], ),
    sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.create_index("ix_confirmation_applications_agreement", ["agreement_id"], unique=False)
        batch_op.create_index("ix_confirmation_applications_court", ["court_code", "status"], unique=False)

    op.create_table("obligation_performance",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("agreement_id", sa.String(length=32), nullable=False),
    sa.Column("obligation_id", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("performed_on", sa.String(length=10), nullable=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("recorded_by", sa.String(length=48), nullable=False),
    sa.Column("recorded_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("obligation_performance", schema=None) as batch_op:
        batch_op.create_index("ix_obligation_performance_agreement", ["agreement_id", "id"], unique=False)

    op.create_table("service_receipts",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("application_id", sa.String(length=32), nullable=False),
    sa.Column("recipient_id", sa.String(length=48), nullable=False),
    sa.Column("recipient_name", sa.String(length=64), nullable=False),
    sa.Column("document_sha256", sa.String(length=64), nullable=False),
    sa.Column("sent_at", server.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", server.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column("delivered_ip", sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(["application_id"], ["confirmation_applications.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("service_receipts", schema=None) as batch_op:
        batch_op.create_index("ix_service_receipts_application", ["application_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("service_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_service_receipts_application")

    op.drop_table("service_receipts")
    with op.batch_alter_table("obligation_performance", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_performance_agreement")

    op.drop_table("obligation_performance")
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_confirmation_applications_court")
        batch_op.drop_index("ix_confirmation_applications_agreement")

    op.drop_table("confirmation_applications")
    op.drop_table("agreement_versions")
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_agreement_signatures_version")

    op.drop_table("agreement_signatures")
    with op.batch_alter_table("agreement_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_agreement_comments_agreement")

    op.drop_table("agreement_comments")
    op.drop_table("agreements")
    op.drop_table("clerk_courts")
