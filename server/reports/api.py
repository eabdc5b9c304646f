"""REST routes of reports (docs/reports.md): a span's report, its CSV/XLSX export, and
bringing the aggregates up to date now. Supervisors only."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.errors import bad_request
from server.policy import Action, require
from server.reports.ranges import Period, RangeError, Span
from server.reports.service import Reports
from server.reports.tally import ALL_KEY, Dim
from server.rest import Route, query_of, register

REPORTS_KEY = web.AppKey("reports", Reports)


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    range: Period = Field(default=Period.MONTH, description="day, week, month or custom")
    day: dt.date | None = Field(default=None, alias="date",
                                description="a day of the range (default today)")
    from_: dt.date | None = Field(default=None, alias="from", description="custom: first day")
    to: dt.date | None = Field(default=None, description="custom: last day (included)")
    dim: Dim = Field(default=Dim.ALL, description="one dimension to filter on")
    key: str = Field(default=ALL_KEY, max_length=64, description="that dimension's key")


class ExportQuery(ReportQuery):
    format: Literal["csv", "xlsx"] = "csv"


def _span(request: web.Request, query: ReportQuery) -> Span:
    try:
        return request.app[REPORTS_KEY].span(query.range, query.day, query.from_, query.to)
    except RangeError as exc:
        raise bad_request(str(exc), exc.field) from None


def _filter(query: ReportQuery) -> tuple[Dim, str]:
    if query.dim is Dim.ALL:
        return Dim.ALL, ALL_KEY
    if query.key == ALL_KEY or not query.key:
        raise bad_request("请给出筛选的键 / name the key to filter on", "key")
    return query.dim, query.key


async def get_report(request: web.Request) -> web.Response:
    require(principal_of(request), Action.REPORTS_READ)
    query = query_of(request, ReportQuery)
    span = _span(request, query)
    dim, key = _filter(query)
    return web.json_response(await request.app[REPORTS_KEY].report(span, dim, key))


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


async def get_export(request: web.Request) -> web.Response:
    require(principal_of(request), Action.REPORTS_READ)
    query = query_of(request, ExportQuery)
    span = _span(request, query)
    dim, key = _filter(query)
    body = await request.app[REPORTS_KEY].export(span, dim, key, query.format)
    name = f"parley-report-{span.start.isoformat()}-{span.end.isoformat()}.{query.format}"
    return web.Response(body=body, headers={
        "Content-Type": CONTENT_TYPES[query.format],
        "Content-Disposition": f'attachment; filename="{name}"'})


async def post_aggregate(request: web.Request) -> web.Response:
    require(principal_of(request), Action.REPORTS_RUN)
    done = await request.app[REPORTS_KEY].aggregate()
    return web.json_response({"contacts": done.contacts, "ratings": done.ratings,
                              "mediations": done.mediations, "clocks": done.clocks,
                              "reviews": done.reviews})


# Every route and the action it performs; the access test checks the actions.
REPORT_ROUTES = (
    Route("GET", "/api/reports", get_report, "A report over a day, week, month or custom range",
          action=Action.REPORTS_READ, query=ReportQuery,
          returns="{from, to, totals, series, breakdown, criticism, clocks, names, updated_at}",
          tag="reports"),
    Route("GET", "/api/reports/export", get_export, "The report as CSV or XLSX",
          action=Action.REPORTS_READ, query=ExportQuery, returns="A CSV or XLSX file",
          content_type="text/csv", tag="reports"),
    Route("POST", "/api/reports/aggregate", post_aggregate,
          "Bring the daily aggregates up to date now", action=Action.REPORTS_RUN,
          returns="{contacts, ratings, mediations, clocks, reviews}: facts folded", tag="reports"),
)


def add_report_routes(app: web.Application, reports: Reports) -> None:
    app[REPORTS_KEY] = reports
    register(app, REPORT_ROUTES)
