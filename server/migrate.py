"""Schema migrations with Alembic, run on the application's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from server.db import Database
from server.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with database.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables that others reference (0007 rebuilds ``recordings``).
            # SQLite's procedure for that: foreign keys off (only possible outside a
            # transaction), migrate, check every reference, foreign keys on again.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(run)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


async def pending_differences(database: Database) -> list[object]:
    """What the migrated schema lacks compared with the models (empty when in step)."""
    from alembic.autogenerate import compare_metadata

    def compare(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as conn:
        return await conn.run_sync(compare)
