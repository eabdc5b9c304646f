"""Reports benchmark (docs/reports.md): the monthly report for 1,000,000 contacts built from
the daily aggregates, and the aggregation job's throughput against 100 contacts per second.

    PYTHONPATH=$PWD python -m bench.reports [--database URL] [--contacts 1000000] [--raw 20000]

1. Aggregates of a 30-day month holding ``--contacts`` contacts (5 services, 12 regions, 3
   channels, 200 lawyers, 20 committees: 7,230 day rows and 241 month rows, each with its wait
   histogram) are written as the job keeps them;
   then ``Reports.report`` (read the month's rows, merge them, build totals, series, breakdowns,
   criticism and clocks) is timed, median of 5. Target: under 1 s.
2. ``--raw`` settled contacts with their timelines and ratings are written as the hotline
   writes them; the job folds them all (bulk catch-up, contacts/s); then one 30-second interval
   at 100 contacts/s (3,000 more) is folded by one incremental run. Target: that run takes well
   under the 30 s interval (the ratio printed is interval / run time).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from server.db import Database
from server.migrate import upgrade
from server.models import Case, CaseEvent, User
from server.ratings.models import Rating
from server.reports.job import INTERVAL_S, Aggregator
from server.reports.models import ReportDay, ReportMonth
from server.reports.ranges import Period, span_of
from server.reports.service import Reports
from server.reports.store import ReportStore, _values
from server.reports.tally import ALL_KEY, Counts, Dim

MONTH = date(2026, 11, 1)
DIMS = {Dim.SERVICE: 5, Dim.REGION: 12, Dim.CHANNEL: 3, Dim.AGENT: 200, Dim.COMMITTEE: 20}
REASONS = ("waited_too_long", "not_understood", "attitude", "not_solved", "other")


def _counts(rng: random.Random, n: int) -> Counts:
    answered = int(n * 0.85)
    c = Counts(offered=n, answered=answered, abandoned=int(n * 0.1), answered_in_sl=int(answered * 0.8),
               wait_sum_s=answered * 42.0, handled=answered, handle_sum_s=answered * 400.0,
               transfers=n // 20, callbacks=n // 10, callbacks_kept=n // 12, ratings=n // 3,
               rating_sum=(n // 3) * 4, low_ratings=n // 30, complaints=n // 100)
    left = answered
    c.wait_hist = [0] * 170  # waits spread over 85 of the buckets, as a day's waits are
    for bucket in range(0, 170, 2):
        take = left if bucket >= 168 else min(left, int(rng.expovariate(1 / max(1, answered / 40))))
        c.wait_hist[bucket] = take
        left -= take
    c.reasons = {r: max(0, n // 100 - i) for i, r in enumerate(REASONS)}
    return c


async def write_month(db: Database, contacts: int) -> int:
    """The month's day rows and, as the job keeps them beside the days, its month rows."""
    rng = random.Random(1)
    per_day = contacts // 30
    rows = []
    months: dict[tuple[str, str], Counts] = {}
    for d in range(30):
        day = MONTH + timedelta(days=d)
        for dim, keys in ((Dim.ALL, 1), *DIMS.items()):
            for k in range(keys):
                key = ALL_KEY if dim is Dim.ALL else f"{dim.value}-{k}"
                counts = _counts(rng, per_day // keys)
                months.setdefault((dim.value, key), Counts()).add(counts)
                rows.append({"day": day, "dim": dim.value, "key": key, **_values(counts)})
    month_rows = [{"month": MONTH, "dim": dim, "key": key, **_values(c)}
                  for (dim, key), c in months.items()]
    async with db.engine.begin() as conn:
        for table, chunk in ((ReportDay, rows), (ReportMonth, month_rows)):
            for start in range(0, len(chunk), 1000):
                await conn.execute(insert(table), chunk[start:start + 1000])
    return len(rows) + len(month_rows)


async def bench_report(db: Database, contacts: int) -> None:
    written = await write_month(db, contacts)
    store = ReportStore(db)
    reports = Reports(store, Aggregator(store, lambda: datetime.now(UTC)), lambda: datetime.now(UTC))
    span = span_of(Period.MONTH, MONTH)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        report = await reports.report(span)
        times.append(time.perf_counter() - started)
    assert report["totals"]["offered"] == (contacts // 30) * 30
    assert sum(r["offered"] for r in report["breakdown"]["region"]) > 0.99 * contacts
    median = statistics.median(times)
    print(f"monthly report, {contacts:,} contacts, {written:,} aggregate rows: "
          f"median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
          f"target < 1000 ms: {'OK' if median < 1 else 'MISSED'}")


async def write_raw(db: Database, n: int, lawyers: list[int], start: datetime) -> None:
    rng = random.Random(n)
    cases, events, ratings = [], [], []
    for i in range(n):
        queued = start + timedelta(seconds=i / 100)  # 100 contacts per second
        matched = queued + timedelta(seconds=rng.expovariate(1 / 40))
        abandoned = rng.random() < 0.1
        ended = (queued + timedelta(seconds=30)) if abandoned else matched + timedelta(seconds=300)
        case_id = uuid.uuid4().hex
        cases.append({"id": case_id, "status": "abandoned" if abandoned else "ended",
                      "service_type": "consultation", "category": "labour", "mode": "audio",
                      "citizen_name": "张三", "citizen_phone": "13800000000", "description": "-",
                      "region": f"region-{i % 12}", "language": "zh", "priority": "normal",
                      "callback": False, "created_at": queued, "queued_at": queued,
                      "lawyer_id": None if abandoned else lawyers[i % len(lawyers)],
                      "matched_at": None if abandoned else matched, "ended_at": ended, "notes": ""})
        events.append({"case_id": case_id, "at": queued, "actor": "citizen", "kind": "intake", "data": {}})
        if not abandoned:
            events.append({"case_id": case_id, "at": ended, "actor": "lawyer", "kind": "ended", "data": {}})
            if i % 3 == 0:
                ratings.append({"subject_kind": "consultation", "subject_id": case_id, "author": case_id,
                                "score": 1 + i % 5, "reasons": ["not_solved"] if i % 5 < 2 else [],
                                "comment": None, "complaint": False, "created_at": ended})
    async with db.engine.begin() as conn:
        for table, rows in ((Case, cases), (CaseEvent, events), (Rating, ratings)):
            for s in range(0, len(rows), 1000):
                await conn.execute(insert(table), rows[s:s + 1000])


async def bench_job(db: Database, raw: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(User), [{"username": f"bench{i}", "password_hash": "x", "role": "lawyer",
                                           "display_name": f"律师{i}", "skills": {}, "languages": [],
                                           "created_at": datetime.now(UTC)} for i in range(50)])
    async with db.reader.connect() as conn:
        lawyers = list((await conn.execute(User.__table__.select().with_only_columns(User.id))).scalars())
    start = datetime(2026, 11, 2, 1, tzinfo=UTC)
    await write_raw(db, raw, lawyers, start)
    clock = {"now": start + timedelta(seconds=raw / 100 + 3600)}
    job = Aggregator(ReportStore(db), lambda: clock["now"])
    started = time.perf_counter()
    done = await job.run()
    bulk = time.perf_counter() - started
    print(f"job, catch-up: {done.contacts:,} contacts + {done.ratings:,} ratings in {bulk:.2f} s = "
          f"{done.contacts / bulk:,.0f} contacts/s (target 100/s: x{done.contacts / bulk / 100:.0f})")
    # One interval of the server's ticker at 100 contacts/s, after the catch-up.
    interval = int(INTERVAL_S * 100)
    later = clock["now"]
    await write_raw(db, interval, lawyers, later)
    clock["now"] = later + timedelta(seconds=INTERVAL_S + 3600)
    started = time.perf_counter()
    done = await job.run()
    took = time.perf_counter() - started
    print(f"job, one {INTERVAL_S:.0f} s interval at 100 contacts/s: {done.contacts:,} contacts in "
          f"{took:.2f} s ({done.contacts / took:,.0f}/s); keeps up with x{INTERVAL_S / took:.0f} to spare")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="a database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--raw", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, run in (("report", lambda db: bench_report(db, args.contacts)),
                           ("job", lambda db: bench_job(db, args.raw))):
            if args.database:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = Database(args.database)
                async with admin.engine.begin() as conn:
                    await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                db = Database(args.database, schema=schema)
            else:
                db = Database(f"sqlite+aiosqlite:///{tmp}/{label}.db")
            try:
                await upgrade(db)
                await run(db)
            finally:
                await db.close()
                if args.database:
                    async with admin.engine.begin() as conn:
                        await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                    await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
