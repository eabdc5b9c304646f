"""a proxy who acts for the applicant (a family member, a village legal advisor): their name and
phone and how they are related to the applicant

Revision ID: 0019_application_proxy
Revises: 0016_sms
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_application_proxy"
down_revision: str | None = "0018_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("proxy_name", sa.String(64), nullable=True))
        batch.add_column(sa.Column("proxy_phone", sa.String(16), nullable=True))
        batch.add_column(sa.Column("proxy_relationship", sa.String(32), nullable=True))
    op.create_index("ix_applications_proxy_phone", "applications", ["proxy_phone"])


def downgrade() -> None:
    op.drop_index("ix_applications_proxy_phone", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("proxy_relationship")
        batch.drop_column("proxy_phone")
        batch.drop_column("proxy_name")
