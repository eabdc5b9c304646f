"""ratings of every case with their reasons, and the follow-ups low ratings open

Revision ID: 0011_ratings
Revises: 0010_registry
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0011_ratings"
down_revision: str | None = "0010_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(48), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("complaint", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject_kind", "subject_id", "author"),
    )
    op.create_table(
        "rating_follow_ups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rating_id", sa.Integer, sa.ForeignKey("ratings.id"), nullable=False, unique=True),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("done_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rating_follow_ups_open", "rating_follow_ups", ["done_at", "due"])


def downgrade() -> None:
    op.drop_table("rating_follow_ups")
    op.drop_table("ratings")
