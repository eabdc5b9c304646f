"""Database engine and sessions (SQLite by default, PostgreSQL through DATABASE_URL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.group_commit import GroupCommit
from server.models import Base

POOL_SIZE = 30


class Database:
    """Owns the engine; ``session()`` opens a unit of work."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        # ``schema`` (PostgreSQL): a search path of its own, so test runs never share tables.
        connect_args = {"server_settings": {"search_path": schema}} if schema else {}
        # PostgreSQL: enough pooled connections for the requests in flight at peak. With the
        # default 5 + 10 overflow, overflow connections are opened and closed around every
        # query under load, which doubles the CPU per query (bench/load.py).
        pool = {} if url.startswith("sqlite") else {"pool_size": POOL_SIZE, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(url, connect_args=connect_args, **pool)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # Statements sent, by verb (/metrics): what a request costs the database.
        self.statements: Counter[str] = Counter()
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._count)
        self.session = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)
        self.appends = GroupCommit(self.engine, list(Base.metadata.sorted_tables))
        # Single reads need no transaction: one round trip instead of BEGIN, query, ROLLBACK.
        self.reader: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # ORM reads on the same: for sessions that only read (never for writes).
        self.read_session = async_sessionmaker(self.reader, expire_on_commit=False,
                                               class_=AsyncSession)

    def _count(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.statements[statement.lstrip().split(None, 1)[0].upper()] += 1

    async def close(self) -> None:
        await self.appends.close()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL: readers never block the writer; synchronous=FULL so a crash loses nothing committed.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
