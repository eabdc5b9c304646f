"""routing: case priority, language, callback and owner; lawyers' languages

Revision ID: 0004_routing
Revises: 0003_mediation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.timestamps

revision: str = "0004_routing"
down_revision: str | None = "0003_mediation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=False,
                                   server_default="zh"))
        batch.add_column(sa.Column("priority", sa.String(length=16), nullable=False,
                                   server_default="normal"))
        batch.add_column(sa.Column("callback", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("callback_requested_at",
                                   server.timestamps.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_cases_owner_id_users", "users", ["owner_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_owner_id_users", type_="foreignkey")
        for column in ("owner_id", "callback_requested_at", "callback", "priority", "language"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("languages")
