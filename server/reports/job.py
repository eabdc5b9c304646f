"""The aggregation job: folds every settled fact into the daily aggregates, batch by batch,
until none is left. Incremental (watermarks), idempotent (the ledger) and crash-safe (each batch
commits its rows, ledger entries and watermarks together). Run by the server every
``INTERVAL_S`` and on demand by ``parley reports aggregate``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from server.reports.store import Folded, ReportStore

INTERVAL_S = 30.0
BATCH = 2000


class Aggregator:
    def __init__(self, store: ReportStore, clock: Callable[[], datetime], batch: int = BATCH) -> None:
        self._store = store
        self._clock = clock
        self._batch = batch
        self._lock = asyncio.Lock()  # one run at a time in this process (the store locks across)

    async def run(self, before_commit: Callable[[], None] | None = None) -> Folded:
        """Fold everything settled by now; what was folded."""
        total = Folded()
        async with self._lock:
            while True:
                done = await self._store.fold_batch(self._clock(), self._batch, before_commit)
                total = total + done
                if max(done.contacts, done.ratings, done.mediations, done.reviews) < self._batch:
                    return total
