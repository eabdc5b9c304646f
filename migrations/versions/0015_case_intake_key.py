"""cases.intake_key: an intake sent again (its reply lost to a crash) finds its case

Revision ID: 0015_case_intake_key
Revises: 0014_credentials
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_case_intake_key"
down_revision: str | None = "0014_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("intake_key", sa.String(64), nullable=True))
    op.create_index("ix_cases_intake_key", "cases", ["intake_key"])


def downgrade() -> None:
    op.drop_index("ix_cases_intake_key", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("intake_key")
