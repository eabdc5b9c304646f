"""Readable case numbers of mediation cases (柯调〔2026〕12号), from the shared
case_number_counters

Revision ID: 0020_case_numbers
Revises: 0016_sms

Cases created before this migration keep no number (they are shown by their short id): a
number is given once, at creation, and never rewritten; agreements already signed are not
touched (the number is not part of the signed content, docs/agreements.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_case_numbers"
down_revision: str | None = "0019_application_proxy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mediation_cases") as batch:
        batch.add_column(sa.Column("case_number", sa.String(32), nullable=True))
        batch.add_column(sa.Column("committee_code", sa.String(48), nullable=True))
    # Unique (NULLs apart, on both SQLite and PostgreSQL): a number is never given twice.
    op.create_index("ux_mediation_cases_case_number", "mediation_cases", ["case_number"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ux_mediation_cases_case_number", table_name="mediation_cases")
    with op.batch_alter_table("mediation_cases") as batch:
        batch.drop_column("committee_code")
        batch.drop_column("case_number")
