"""index cases by citizen phone: the follow-up owner lookup (首问负责) runs on every intake

Revision ID: 0009_case_phone_index
Revises: 0008_confirmation_room
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_case_phone_index"
down_revision: str | None = "0008_confirmation_room"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_phone_ended", "cases", ["citizen_phone", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_phone_ended", table_name="cases")
