"""confirmation session in a room: its room, start, end and attendance on the application

Revision ID: 0008_confirmation_room
Revises: 0007_recording_case_ids
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_confirmation_room"
down_revision: str | None = "0007_recording_case_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("confirmation_applications") as batch_op:
        batch_op.add_column(sa.Column("session_room", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("confirmation_applications") as batch_op:
        batch_op.drop_column("session_room")
