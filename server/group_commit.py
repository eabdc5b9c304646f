"""Group commit for append-only rows (chat messages, case events, new cases).

Every caller awaits its own row's commit, so an acknowledged message is on disk, but the rows
that arrive while one transaction is being written share the next one: one BEGIN, one
multi-row INSERT per table and one COMMIT for the whole batch instead of per row. At low load a
batch holds one row and nothing waits longer than before; under load (bench/load.py) the cost
per row falls from ~1 ms of round trips to ~0.1 ms. One batch is written at a time, so rows
keep their arrival order (chat message ids follow the order the messages were sent).

A row may require that another row is still open (``Requirement``: a chat message needs its
room not closed); the check runs in the batch's transaction with the checked rows locked
(PostgreSQL ``FOR SHARE``), so a concurrent close waits or wins, never interleaves. If a batch
fails, its rows are retried one per transaction, so one bad row fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

MAX_BATCH = 500


@dataclass(frozen=True)
class Requirement:
    """The row inserted needs ``table.key == value`` to exist with ``open_column`` NULL."""

    key: Column[Any]
    value: Any
    open_column: Column[Any]


class RequirementFailed(Exception):
    """The required row is missing or no longer open (e.g. the room was closed)."""


@dataclass
class _Pending:
    table: Table
    row: dict[str, Any]
    returning: bool
    requires: Requirement | None
    done: asyncio.Future[int | None] = field(repr=False)


class GroupCommit:
    """Owned by ``server.db.Database``; ``close`` waits for the rows already accepted."""

    def __init__(self, engine: AsyncEngine, table_order: list[Table]) -> None:
        self._engine = engine
        # Parents before children (foreign keys) inside one batch.
        self._rank = {table.name: i for i, table in enumerate(table_order)}
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.rows = 0

    async def insert(self, table: Table, row: dict[str, Any], *, returning: bool = False,
                     requires: Requirement | None = None) -> int | None:
        """Insert ``row`` with the next batch; returns its ``id`` when ``returning``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        self._queue.append(_Pending(table, row, returning, requires, future))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = asyncio.create_task(self._write_all(), name="group commit")
        # Shielded: a sender who disconnects meanwhile does not take their message back.
        return await asyncio.shield(future)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                log.warning("group commit: a batch of %d rows failed (%s); writing them one by "
                            "one", len(batch), exc)
                for one in batch:
                    try:
                        await self._write([one])
                    except Exception as one_exc:
                        _fail(one, one_exc)

    async def _write(self, batch: list[_Pending]) -> None:
        async with self._engine.begin() as conn:
            accepted, refused = await self._check(conn, batch)
            ids: dict[int, int | None] = {}
            by_table: dict[str, list[_Pending]] = defaultdict(list)
            for pending in accepted:
                by_table[pending.table.name].append(pending)
            for name in sorted(by_table, key=lambda n: self._rank.get(n, len(self._rank))):
                rows = by_table[name]
                table = rows[0].table
                if any(p.returning for p in rows):
                    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                    result = await conn.execute(statement, [p.row for p in rows])
                    for pending, (row_id,) in zip(rows, result.all(), strict=True):
                        ids[id(pending)] = row_id
                else:
                    await conn.execute(insert(table), [p.row for p in rows])
        self.batches += 1
        self.rows += len(accepted)
        for pending in accepted:
            if not pending.done.done():
                pending.done.set_result(ids.get(id(pending)))
        for pending in refused:
            _fail(pending, RequirementFailed())

    async def _check(self, conn: AsyncConnection, batch: list[_Pending]
                     ) -> tuple[list[_Pending], list[_Pending]]:
        wanted: dict[tuple[Column[Any], Column[Any]], set[Any]] = defaultdict(set)
        for pending in batch:
            if pending.requires is not None:
                req = pending.requires
                wanted[(req.key, req.open_column)].add(req.value)
        if not wanted:
            return batch, []
        open_keys: dict[tuple[Column[Any], Column[Any]], set[Any]] = {}
        for (key, open_column), values in wanted.items():
            query = select(key).where(key.in_(sorted(values)), open_column.is_(None))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(read=True)
            open_keys[(key, open_column)] = set((await conn.execute(query)).scalars())
        accepted, refused = [], []
        for pending in batch:
            need = pending.requires
            if need is None or need.value in open_keys[(need.key, need.open_column)]:
                accepted.append(pending)
            else:
                refused.append(pending)
        return accepted, refused


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.done.done():
        pending.done.set_exception(exc)
