"""Benchmark simulcast forwarding: the media worker's CPU per receiver (a program, not a test).

    .venv/bin/python -m bench.simulcast [--receivers 1,3] [--warmup 5 --window 15] [--runs 1]

One publisher page (real headless Chromium, fake camera 640x480) sends to N receive-only pages
in a mediation-style room (a routing table) through the media worker alone in a process of its
own (bench/media_worker.py), once with simulcast (the product's web/js/simulcast.js: 320x240
at up to 150 kbit/s and 640x480 at up to 500) and once with one layer capped at 500 kbit/s.
Every second receiver's estimate is held at 200 kbit/s by the worker's lab hook, so with
simulcast half the receivers get the small layer. After every receiver decodes, ``--warmup``
s, then the worker process's utime+stime over ``--window`` s. Printed: CPU-s per s, the extra
per receiver (the slope between the smallest and largest N), what the publisher sent and what
each receiver decodes (width, fps). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from bench.media import TREE, Parley, cpu_times
from tests.e2e.harness import free_port, launch, wait_until

PAGE = TREE / "tests" / "e2e" / "simulcast_page.html"
WEB_JS = TREE / "web" / "js"
WEAK = 200_000     # bit/s: the held receivers' estimate
SINGLE_CAP = 500_000
MAX_RECEIVERS = 6


def receiver_ids(count: int) -> list[str]:
    return [f"r{i}" for i in range(count)]


def weak(pid: str) -> bool:
    return int(pid[1:]) % 2 == 1


@dataclass
class Measured:
    mode: str
    receivers: int
    cpu_per_s: float
    user_share: float
    sent_kbps: float
    widths: dict[str, int]
    fps: dict[str, float]


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("() => videoStats()")
    return result


async def open_page(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(base_url=base_url, permissions=["camera", "microphone"])
    page = await context.new_page()
    await page.goto("/")
    await page.wait_for_function("window.simulcastReady === true")
    return page


async def one(worker: Parley, browser: Browser, base_url: str, layers: bool, count: int,
              warmup: float, window: float) -> Measured:
    room = f"sim-{'layers' if layers else 'single'}-{count}-{int(time.monotonic() * 1000)}"
    await worker.request({"type": "open_room", "room_id": room, "kinds": ["audio", "video"]})
    ids = receiver_ids(count)
    await worker.request({"type": "set_routing", "room_id": room,
                          "allowed": [[pid, "pub"] for pid in ids], "muted": [], "max_slots": 1})
    pages: dict[str, Page] = {}
    try:
        for pid in ["pub", *ids]:
            page = pages[pid] = await open_page(browser, base_url)
            if pid == "pub":
                await page.evaluate("() => startCamera()")
            sdp = await page.evaluate("([s, l]) => makeOffer(s, l)", [pid == "pub", layers])
            reply = await worker.request({"type": "negotiate", "room_id": room,
                                          "participant_id": pid, "sdp": sdp})
            await page.evaluate("([sdp, cap]) => acceptAnswer(sdp, cap)",
                                [reply["sdp"], SINGLE_CAP])

        async def decoding() -> bool:
            for pid in ids:
                inbound = (await stats(pages[pid]))["inbound"]
                if not inbound or inbound["framesDecoded"] < 10:
                    return False
            return True

        await wait_until(decoding, 60, f"{count} receivers decoding")
        await asyncio.sleep(warmup)
        before = {pid: await stats(page) for pid, page in pages.items()}
        (user0, sys0), t0 = cpu_times(worker.process.pid), time.monotonic()
        await asyncio.sleep(window)
        (user1, sys1), t1 = cpu_times(worker.process.pid), time.monotonic()
        after = {pid: await stats(page) for pid, page in pages.items()}
        elapsed = t1 - t0
        used = (user1 - user0) + (sys1 - sys0)
        sent = sum(o["bytesSent"] for o in after["pub"]["outbound"]) - sum(
            o["bytesSent"] for o in before["pub"]["outbound"])
        return Measured(
            mode="simulcast" if layers else "one layer", receivers=count,
            cpu_per_s=used / elapsed, user_share=(user1 - user0) / used if used else 0.0,
            sent_kbps=sent * 8 / 1000 / elapsed,
            widths={pid: after[pid]["inbound"]["frameWidth"] for pid in ids},
            fps={pid: (after[pid]["inbound"]["framesDecoded"]
                       - before[pid]["inbound"]["framesDecoded"]) / elapsed for pid in ids})
    finally:
        for page in pages.values():
            await page.evaluate("() => closeAll()")
            await page.context.close()
        await worker.request({"type": "close_room", "room_id": room})


def report(results: list[Measured], args: argparse.Namespace) -> None:
    print(f"\nworker CPU-s per s (utime+stime), {args.warmup:.0f} s warm-up, {args.window:.0f} s "
          f"window, medians of {args.runs} run(s); receivers r1, r3, ... held at "
          f"{WEAK // 1000} kbit/s\n")
    print("| mode | receivers | worker CPU-s/s | per extra receiver | user share "
          "| publisher sent kbit/s | receivers' decoded width (fps) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    counts = sorted({r.receivers for r in results})
    for mode in dict.fromkeys(r.mode for r in results):
        medians: dict[int, float] = {}
        for count in counts:
            mine = [r for r in results if r.mode == mode and r.receivers == count]
            medians[count] = statistics.median(r.cpu_per_s for r in mine)
            last = mine[-1]
            slope = ""
            if count != counts[0]:
                slope = (f"{(medians[count] - medians[counts[0]]) / (count - counts[0]):.4f}")
            seen = ", ".join(f"{pid} {last.widths[pid]} ({last.fps[pid]:.0f})"
                             for pid in sorted(last.widths))
            print(f"| {mode} | {count} | {medians[count]:.4f} | {slope} | "
                  f"{statistics.median(r.user_share for r in mine):.0%} | "
                  f"{statistics.median(r.sent_kbps for r in mine):.0f} | {seen} |")


async def main(args: argparse.Namespace) -> None:
    counts = sorted({int(n) for n in args.receivers.split(",")})
    if not counts or counts[0] < 1 or counts[-1] > MAX_RECEIVERS:
        raise SystemExit(f"--receivers: 1 to {MAX_RECEIVERS}")
    os.environ["PARLEY_BENCH_ESTIMATE_CAP"] = ",".join(
        f"{pid}={WEAK}" for pid in receiver_ids(MAX_RECEIVERS) if weak(pid))

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_static("/js", WEB_JS)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    results: list[Measured] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        worker = Parley(http, TREE)
        try:
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                for run in range(args.runs):
                    for layers in ((True, False) if run % 2 == 0 else (False, True)):
                        for count in counts:
                            result = await one(worker, browser, f"http://127.0.0.1:{port}",
                                               layers, count, args.warmup, args.window)
                            print(f"run {run + 1} {result.mode}, {count} receiver(s): "
                                  f"{result.cpu_per_s:.4f} CPU-s/s, widths {result.widths}",
                                  flush=True)
                            results.append(result)
                await browser.close()
        finally:
            worker.stop()
    await runner.cleanup()
    report(results, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", default="1,3", help="receiver counts to measure")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=15)
    asyncio.run(main(parser.parse_args()))
