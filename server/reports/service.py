"""Reports for the supervisor: a span's report from the aggregates, with the agents' names and
when the aggregates were last brought up to date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from server.clocks.clock import local_date
from server.reports import export, summary
from server.reports.job import Aggregator
from server.reports.ranges import Period, Span, span_of
from server.reports.store import Folded, ReportStore
from server.reports.tally import ALL_KEY, Dim


class Reports:
    def __init__(self, store: ReportStore, aggregator: Aggregator,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.aggregator = aggregator
        self._clock = clock

    def span(self, period: Period, anchor: date | None, start: date | None, end: date | None
             ) -> Span:
        return span_of(period, anchor or local_date(self._clock()), start, end)

    async def report(self, span: Span, dim: Dim = Dim.ALL, key: str = ALL_KEY) -> dict[str, Any]:
        loaded = await self.store.span(span, dim, key)
        built = summary.build(loaded.series, loaded.clocks, span, dim, key, loaded.parts)
        built["names"] = await self.store.names(r["key"] for r in built["breakdown"]["agent"])
        updated = await self.store.updated_at()
        built["updated_at"] = updated.isoformat() if updated else None
        return built

    async def export(self, span: Span, dim: Dim, key: str, fmt: str) -> bytes:
        built = await self.report(span, dim, key)
        if fmt == "xlsx":
            return export.to_xlsx(built, built["names"])
        return export.to_csv(built, built["names"])

    async def aggregate(self) -> Folded:
        return await self.aggregator.run()
