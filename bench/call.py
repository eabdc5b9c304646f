"""Benchmark a video consultation end to end (a program, not a test).

Runs the product as a real process and two real headless Chromium pages with fake camera and
microphone, and reports:
- time from the lawyer's "take next" click to the first decoded remote video frame on each page
  (median over --runs runs);
- the server process's CPU seconds per second of a two-way 640x480 call (measured over
  --seconds of call, from /proc/PID/stat), and its idle CPU for comparison.

    .venv/bin/python -m bench.call --runs 5 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.e2e.harness import (
    ServerProcess,
    launch,
    new_page,
    start_server,
    video_stats,
    wait_until,
)
from tests.e2e.test_consultation import sign_in, submit_intake, take_next

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def first_frame_after(page: Page, start: float) -> float:
    async def decoded() -> bool:
        return (await video_stats(page))["framesDecoded"] > 0

    await wait_until(decoded, 30, "first remote frame", interval=0.01)
    return time.monotonic() - start


async def one_run(server: ServerProcess, browser: object, index: int, seconds: float
                  ) -> tuple[float, float, float | None]:
    username = f"bench{index}"
    server.add_lawyer(username)
    citizen_ctx, citizen = await new_page(browser, server.url)  # type: ignore[arg-type]
    lawyer_ctx, lawyer = await new_page(browser, server.url)  # type: ignore[arg-type]
    await submit_intake(citizen)
    await sign_in(lawyer, username)
    start = time.monotonic()
    await take_next(lawyer)
    citizen_s, lawyer_s = await asyncio.gather(first_frame_after(citizen, start),
                                               first_frame_after(lawyer, start))
    cpu_per_s = None
    if seconds:
        cpu0, t0 = cpu_seconds(server.process.pid), time.monotonic()
        await asyncio.sleep(seconds)  # measuring a steady call, not synchronising
        cpu_per_s = (cpu_seconds(server.process.pid) - cpu0) / (time.monotonic() - t0)
    # The recording notice stays unanswered (nothing is recorded: forwarding alone is measured).
    await lawyer.keyboard.press("Escape")
    await lawyer.get_by_test_id("case-outcome").select_option("answered")
    await lawyer.get_by_test_id("end-case").click()
    await citizen_ctx.close()
    await lawyer_ctx.close()
    return citizen_s, lawyer_s, cpu_per_s


async def main(runs: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(Path(tmp) / "var")
        try:
            cpu0, t0 = cpu_seconds(server.process.pid), time.monotonic()
            await asyncio.sleep(5)
            idle = (cpu_seconds(server.process.pid) - cpu0) / (time.monotonic() - t0)
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                results = [await one_run(server, browser, i, seconds if i == 0 else 0)
                           for i in range(runs)]
                await browser.close()
        finally:
            server.stop()
    citizen = [r[0] * 1000 for r in results]
    lawyer = [r[1] * 1000 for r in results]
    print(f"runs: {runs}")
    print("| measure | median | min | max |")
    print("| --- | --- | --- | --- |")
    for name, values in (("take next → first frame, citizen page (ms)", citizen),
                         ("take next → first frame, lawyer page (ms)", lawyer)):
        print(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
    if results[0][2] is not None:
        print(f"| server CPU-s per s, two-way 640x480 call ({seconds:.0f} s) | {results[0][2]:.3f} | | |")
    print(f"| server CPU-s per s, idle | {idle:.3f} | | |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.seconds))
