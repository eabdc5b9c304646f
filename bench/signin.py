"""Benchmark sign-in under guessing (a program, not a test).

    .venv/bin/python -m bench.signin [--burst 40] [--repeat 10]

One server in this process (``create_app`` on a temporary folder, SQLite), one lawyer account.
Measured, in two set-ups in the same run:
- "argon2 on its threads" (Parley now: ``PasswordChecker``);
- "argon2 on the event loop" (the peer: the checker patched to hash inline, as before issue 14).
For each: the time of ``POST /api/login`` with a wrong password and with an unknown username
(medians of --repeat), and ``GET /healthz`` alone and while --burst wrong passwords are in
flight at once (the slowest of the /healthz requests sent during the burst). The limits are
raised for the run, so every attempt reaches argon2. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestServer

from server.config import Settings
from server.keys import USERS_KEY
from server.passwords import PasswordChecker
from signaling.app.factory import create_app

T = TypeVar("T")


async def _inline(self: PasswordChecker, function: Callable[..., T], *args: str) -> T:
    return function(*args)


async def timed(session: aiohttp.ClientSession, method: str, url: str,
                json: Any = None) -> float:
    start = time.perf_counter()
    async with session.request(method, url, json=json) as response:
        await response.read()
    return time.perf_counter() - start


async def measure(folder: Path, burst: int, repeat: int) -> dict[str, float]:
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(folder),
                                  "PARLEY_SIGNIN_PER_USERNAME": "100000 per minute",
                                  "PARLEY_SIGNIN_PER_ADDRESS": "100000 per minute"})
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        await app[USERS_KEY].add(username="lawyer1", password="correct horse", role="lawyer",
                                 display_name="律师", skills=[], region=None,
                                 now=datetime.now(UTC))
        login = url + "/api/login"
        async with aiohttp.ClientSession() as session:
            await timed(session, "POST", login, {"username": "nobody", "password": "x"})  # warm
            wrong = [await timed(session, "POST", login,
                                 {"username": "lawyer1", "password": "wrong"})
                     for _ in range(repeat)]
            unknown = [await timed(session, "POST", login,
                                   {"username": f"nobody{i}", "password": "wrong"})
                       for i in range(repeat)]
            alone = [await timed(session, "GET", url + "/healthz") for _ in range(repeat)]
            guesses = [asyncio.create_task(timed(session, "POST", login, {
                "username": "lawyer1", "password": f"wrong {i}"})) for i in range(burst)]
            await asyncio.sleep(0)  # let the burst be sent first
            during: list[float] = []
            while not all(g.done() for g in guesses):
                during.append(await timed(session, "GET", url + "/healthz"))
            burst_s = max(await asyncio.gather(*guesses))
    finally:
        await server.close()
    return {"wrong": statistics.median(wrong), "unknown": statistics.median(unknown),
            "healthz": statistics.median(alone), "healthz_burst": max(during or [0.0]),
            "healthz_n": len(during), "burst": burst_s}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("argon2 on its threads (now)",
                     await measure(Path(tmp) / "threads", args.burst, args.repeat)))
        original = PasswordChecker._run
        PasswordChecker._run = _inline  # type: ignore[method-assign,assignment]
        try:
            rows.append(("argon2 on the event loop (before)",
                         await measure(Path(tmp) / "loop", args.burst, args.repeat)))
        finally:
            PasswordChecker._run = original  # type: ignore[method-assign]
    print(f"| set-up | wrong password ms | unknown username ms | /healthz alone ms | "
          f"slowest /healthz during {args.burst} wrong logins ms (requests) | "
          f"last of the {args.burst} answered after s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows:
        print(f"| {name} | {r['wrong'] * 1000:.1f} | {r['unknown'] * 1000:.1f} | "
              f"{r['healthz'] * 1000:.1f} | {r['healthz_burst'] * 1000:.1f} "
              f"({r['healthz_n']:.0f}) | {r['burst']:.2f} |")
    now, before = rows[0][1], rows[1][1]
    print(f"\n/healthz during the burst: {before['healthz_burst'] / max(now['healthz_burst'], 1e-9):.0f}x "
          "faster with argon2 off the loop; unknown/wrong time ratio "
          f"{now['unknown'] / now['wrong']:.2f} (now)")


if __name__ == "__main__":
    asyncio.run(main())
