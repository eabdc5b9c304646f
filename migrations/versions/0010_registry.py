"""the one case registry: applications of every service, their timeline, clocks and materials;
users belong to an institution; citizens' sign-in codes

Revision ID: 0010_registry
Revises: 0009_case_phone_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0010_registry"
down_revision: str | None = "0009_case_phone_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("institution", sa.String(48), nullable=True))
    op.create_table(
        "applications",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("item", sa.String(48), nullable=False),
        sa.Column("flow", sa.String(48), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("institution", sa.String(48), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("applicant_name", sa.String(64), nullable=False),
        sa.Column("applicant_phone", sa.String(16), nullable=False),
        sa.Column("applicant_id_number", sa.String(18), nullable=True),
        sa.Column("respondent_name", sa.String(64), nullable=True),
        sa.Column("respondent_phone", sa.String(16), nullable=True),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("filed_as", sa.String(16), nullable=False),
        sa.Column("filed_by", sa.String(48), nullable=False),
        sa.Column("filed_relationship", sa.String(32), nullable=True),
        sa.Column("source_case_id", sa.String(32), nullable=True),
        sa.Column("assigned_lawyer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("mediation_case_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_applications_institution_state", "applications", ["institution", "state"])
    op.create_index("ix_applications_phone", "applications", ["applicant_phone"])
    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_application_events_app", "application_events", ["application_id", "id"])
    op.create_table(
        "application_clocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("institution", sa.String(48), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("warn_days", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("stopped_at", UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("application_id", "code"),
    )
    op.create_index("ix_application_clocks_due", "application_clocks", ["stopped_at", "due"])
    op.create_table(
        "application_materials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(128), nullable=True),
        sa.Column("content_type", sa.String(48), nullable=True),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("stored_as", sa.String(32), nullable=True),
        sa.Column("commitment_text", sa.Text, nullable=True),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_application_materials_app", "application_materials", ["application_id"])
    op.create_table(
        "citizen_sign_in_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_citizen_sign_in_codes_phone", "citizen_sign_in_codes",
                    ["phone", "sent_at"])
    op.create_table(
        "case_number_counters",
        sa.Column("prefix", sa.String(16), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("case_number_counters", "citizen_sign_in_codes", "application_materials",
                  "application_clocks",
                  "application_events", "applications"):
        op.drop_table(table)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("institution")
