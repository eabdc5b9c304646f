"""Benchmark one reconciliation pass (a program, not a test).

    .venv/bin/python -m bench.reconcile [--waiting 10000] [--serving 200] [--passes 20]
        [--redis redis://127.0.0.1:6379/13] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Builds the real application on Redis and PostgreSQL (a database and a key prefix of its own,
both removed afterwards) with --waiting cases waiting and --serving in consultation (each with a
lawyer signed in and busy with it), the live state rebuilt from the database, the tickers
stopped so that nothing else runs. Then times --passes reconciliation passes over that state
(nothing to repair: the cost paid every interval), split into its parts, beside the peer it
replaces: the full rebuild of the live state from the database that an operator ran before.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from sqlalchemy import insert

from server.cases.repository import CASES, ROOMS, new_id
from server.config import Settings
from server.keys import CASES_KEY, DATABASE_KEY
from server.models import User
from signaling.app.factory import create_app
from signaling.hotline.reconcile import plan
from signaling.keys import ENGINE_KEY, HOTLINE_KEY, RECONCILER_KEY, TICKERS_KEY
from signaling.routing.model import AgentId

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
CATEGORIES = ("labour", "marriage_family", "neighbour", "consumer")


def case_row(n: int, status: str, lawyer: int | None = None, room: str | None = None
             ) -> dict[str, Any]:
    at = T0 + timedelta(milliseconds=n)
    # Those in consultation by text: their rooms need no media worker in the bench.
    mode = "text" if lawyer else ("video" if n % 3 else "audio")
    return dict(id=new_id(), status=status, service_type="consultation",
                category=CATEGORIES[n % len(CATEGORIES)], mode=mode,
                citizen_name=f"群众{n}", citizen_phone=f"138{n:08d}", description="工资",
                region="qz-kecheng", priority="normal", callback=False,
                callback_requested_at=None, created_at=at, queued_at=at, notes="",
                language="zh", lawyer_id=lawyer, owner_id=lawyer, room_id=room,
                matched_at=at if lawyer else None)


async def timed(step: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await step()
        out.append(time.perf_counter() - started)
    return out


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1e3:.1f} / {p95 * 1e3:.1f} ms"


async def main(args: argparse.Namespace) -> None:
    admin = await asyncpg.connect(args.postgres)
    name = f"bench_reconcile_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = args.postgres.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    redis = Redis.from_url(args.redis)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env({
                "DATABASE_URL": f"{database_url}/{name}", "REDIS_URL": args.redis,
                "PARLEY_REDIS_PREFIX": prefix, "PARLEY_DATA_DIR": tmp,
                "PARLEY_RECONCILE_INTERVAL_S": "3600"})
            app = create_app(settings)
            server = TestServer(app, host="127.0.0.1", port=0)
            await server.start_server()
            try:
                await run(app, args)
            finally:
                await server.close()
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(app: Any, args: argparse.Namespace) -> None:
    for ticker in app[TICKERS_KEY]:  # nothing but the passes measured
        await ticker.close()
    # Accounts written directly: hashing 200 passwords would take longer than the bench.
    lawyers = list(range(1, args.serving + 1))
    waiting = [case_row(n, "waiting") for n in range(args.waiting)]
    serving = [case_row(args.waiting + n, "in_consultation", lawyer, new_id())
               for n, lawyer in enumerate(lawyers)]
    async with app[DATABASE_KEY].engine.begin() as conn:
        await conn.execute(insert(User.__table__), [
            {"id": n, "username": f"l{n}", "password_hash": "-", "role": "lawyer",
             "display_name": f"律师{n}", "skills": {}, "languages": ["zh"], "region": None,
             "created_at": T0} for n in lawyers])
        await conn.execute(insert(CASES), waiting + serving)
        await conn.execute(insert(ROOMS), [
            {"id": r["room_id"], "case_id": r["id"], "mode": r["mode"], "opened_at": T0}
            for r in serving])
    hotline, engine = app[HOTLINE_KEY], app[ENGINE_KEY]
    rebuild = await timed(lambda: hotline.restore(force=True), 3)
    assert len(await engine.tasks()) == args.waiting
    busy = await engine.agent(AgentId(str(lawyers[0]))) if lawyers else None
    assert busy is None or busy.contacts
    reconciler = app[RECONCILER_KEY]
    for _ in range(2):  # warm: the process's mirror of Redis loaded, statements compiled
        assert await reconciler.run() == []
    passes = await timed(reconciler.run, args.passes)
    snapshot = await timed(reconciler._live, args.passes)
    facts = await timed(reconciler._facts, args.passes)
    live, db = await reconciler._live(), await reconciler._facts()

    async def plan_once() -> None:
        plan(live, db)

    planned = await timed(plan_once, args.passes)
    assert plan(live, db) == frozenset(), "the bench state should agree with itself"
    cases = app[CASES_KEY]
    read_waiting = await timed(cases.waiting_in_order, 3)

    print(f"\n{args.waiting:,} waiting, {args.serving} in consultation; Redis {args.redis}, "
          f"PostgreSQL; {args.passes} passes, p50 / p95\n")
    print("| measure | time |")
    print("| --- | --- |")
    print(f"| **one reconciliation pass (nothing to repair)** | **{ms(passes)}** |")
    print(f"| - live snapshot (Redis mirror, task ids copied) | {ms(snapshot)} |")
    print(f"| - database facts (one indexed SELECT of 5 columns) | {ms(facts)} |")
    print(f"| - plan (pure comparison) | {ms(planned)} |")
    print(f"| peer: full rebuild of the live state from the database | {ms(rebuild)} |")
    print(f"| peer: reading the waiting cases in order (ORM, what a rebuild reads) | "
          f"{ms(read_waiting)} |")
    print(f"\nreconciliation counters: {reconciler.stats}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--serving", type=int, default=200)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
