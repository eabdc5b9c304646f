"""recordings and consents of mediation cases: case_id no longer references cases.id

A recording's (and a consent's) ``case_id`` names a consultation (``cases``) or a mediation
case (``mediation_cases``); the foreign key to ``cases`` is dropped.

Revision ID: 0007_recording_case_ids
Revises: 0006_audit
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_recording_case_ids"
down_revision: str | None = "0006_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("consents", "recordings")
# Names SQLite's unnamed constraints for batch mode; PostgreSQL named them <table>_case_id_fkey.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode rebuilds ``recordings``, which segments and events reference: this needs
        # foreign keys off during the run, as server.migrate.upgrade does on SQLite.
        for table in TABLES:
            with op.batch_alter_table(table, naming_convention=NAMING) as batch_op:
                batch_op.drop_constraint(f"fk_{table}_case_id_cases", type_="foreignkey")
    else:
        for table in TABLES:
            op.drop_constraint(f"{table}_case_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(f"fk_{table}_case_id_cases", "cases", ["case_id"], ["id"])
