"""A report as CSV or XLSX (pure: a report from ``summary.build`` in, bytes out).

CSV is one table with a ``section`` column (the total, each day, each key of each dimension),
UTF-8 with a byte-order mark so that spreadsheet programs read the Chinese names. XLSX has one
sheet per section, written by XlsxWriter (docs/decisions.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import xlsxwriter

COLUMNS = ("offered", "answered", "abandoned", "service_level", "asa_s", "p90_wait_s",
           "abandonment_rate", "aht_s", "transfers", "callbacks", "callbacks_kept", "ratings",
           "avg_rating", "low_ratings", "complaints", "reviews", "review_score")
HEADINGS = {
    "offered": "呼入 offered", "answered": "接通 answered", "abandoned": "放弃 abandoned",
    "service_level": "服务水平 service level", "asa_s": "平均等待秒 ASA s",
    "p90_wait_s": "90%等待秒 p90 wait s", "abandonment_rate": "放弃率 abandonment",
    "aht_s": "平均处理秒 AHT s", "transfers": "转接 transfers", "callbacks": "回拨 callbacks",
    "callbacks_kept": "已回拨 callbacks kept", "ratings": "评价 ratings",
    "avg_rating": "平均评分 avg rating", "low_ratings": "差评 low ratings",
    "complaints": "投诉 complaints", "reviews": "质量评查 reviews",
    "review_score": "评查得分率 review score",
}
DIMENSIONS = ("service", "region", "channel", "agent", "committee")


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return "" if value is None else value


def _table(report: Mapping[str, Any], names: Mapping[str, str]) -> Iterator[list[Any]]:
    yield ["section", "key", *(HEADINGS[c] for c in COLUMNS)]
    yield ["total", f"{report['from']}..{report['to']}",
           *(_cell(report["totals"][c]) for c in COLUMNS)]
    for day in report["series"]:
        yield ["day", day["day"], *(_cell(day[c]) for c in COLUMNS)]
    for dim in DIMENSIONS:
        for row in report["breakdown"][dim]:
            key = names.get(row["key"], row["key"]) if dim == "agent" else row["key"]
            yield [dim, key, *(_cell(row[c]) for c in COLUMNS)]
    for reason, count in report["criticism"]["reasons"].items():
        yield ["reason", reason, count]
    for clock in report["clocks"]:
        yield ["clocks", clock["institution"], clock["kept"], clock["missed"]]


def to_csv(report: Mapping[str, Any], names: Mapping[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in _table(report, names):
        writer.writerow(line)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Mapping[str, Any], names: Mapping[str, str]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    share = book.add_format({"num_format": "0.0%"})
    shares = {"service_level", "abandonment_rate", "review_score"}

    def sheet(title: str, first: str, rows: list[tuple[str, Mapping[str, Any]]]) -> None:
        ws = book.add_worksheet(title)
        ws.write_row(0, 0, [first, *(HEADINGS[c] for c in COLUMNS)], bold)
        for r, (key, values) in enumerate(rows, start=1):
            ws.write(r, 0, key)
            for col, name in enumerate(COLUMNS, start=1):
                value = _cell(values[name])
                if value == "":
                    continue
                ws.write(r, col, value, share if name in shares else None)
        ws.set_column(0, 0, 18)
        ws.set_column(1, len(COLUMNS), 12)
        ws.freeze_panes(1, 1)

    sheet("总计 Total", "范围 range", [(f"{report['from']}..{report['to']}", report["totals"])])
    sheet("按日 Days", "日期 day", [(d["day"], d) for d in report["series"]])
    for dim in DIMENSIONS:
        sheet(dim, dim, [(names.get(r["key"], r["key"]) if dim == "agent" else r["key"], r)
                         for r in report["breakdown"][dim]])
    ws = book.add_worksheet("批评意见 Criticism")
    ws.write_row(0, 0, ["原因 reason", "次数 count"], bold)
    for r, (reason, count) in enumerate(report["criticism"]["reasons"].items(), start=1):
        ws.write_row(r, 0, [reason, count])
    ws = book.add_worksheet("时限 Clocks")
    ws.write_row(0, 0, ["机构 institution", "按时 kept", "超时 missed"], bold)
    for r, clock in enumerate(report["clocks"], start=1):
        ws.write_row(r, 0, [clock["institution"], clock["kept"], clock["missed"]])
    book.close()
    return out.getvalue()
