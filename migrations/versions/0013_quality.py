"""quality review of closed sessions drawn at random (双随机)

Revision ID: 0013_quality
Revises: 0011_ratings
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.timestamps import UTCDateTime

revision: str = "0013_quality"
down_revision: str | None = "0011_ratings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("handler_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("drawn_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("drawn_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("scores", sa.JSON, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_quality_reviews_reviewer", "quality_reviews", ["reviewer_id", "reviewed_at"])


def downgrade() -> None:
    op.drop_table("quality_reviews")
