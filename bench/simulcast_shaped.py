"""Simulcast on a link shaped on this machine: which layer a narrowed receiver decodes, and how
soon it switches (a program, not a test; run as root).

    .venv/bin/python -m bench.simulcast_shaped [--rate 300] [--before 15 --hold 40 --after 40]

One publisher page (simulcast, the product's web/js/simulcast.js) and two receive-only pages
in a mediation-style room, through the media worker in a process of its own. The "weak"
receiver's Chromium runs in a network namespace behind ``tc tbf`` (bench/shaped.py's), with
no lab hook: the worker chooses its layer from the REMB its browser really sends. Phases:
unshaped ``--before`` s, shaped at ``--rate`` kbit/s for ``--hold`` s, lifted for ``--after``
s. Every 0.5 s both receivers' inbound video is read; printed per phase and receiver: the
share of samples decoding 320 and 640 px wide, decoded fps, and the seconds from the phase's
start to the first sample at the width it should have (320 shaped, 640 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Page, async_playwright

from bench.media import TREE, Parley
from bench.shaped import HOST_IP, NS, namespace, shape
from bench.simulcast import PAGE, WEB_JS, open_page, stats
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, free_port, launch, wait_until

POLL_S = 0.5
RECEIVERS = ("strong", "weak")


@dataclass
class Phase:
    name: str
    kbps: int | None
    start: float
    end: float = 0.0
    samples: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    last: dict[str, dict[str, Any]] = field(default_factory=dict)


def summary(phase: Phase, name: str) -> str:
    samples = phase.samples.get(name, [])
    if len(samples) < 2:
        return "no samples"
    widths = [w for _, w, _ in samples]
    small = sum(1 for w in widths if w == 320) / len(widths)
    large = sum(1 for w in widths if w == 640) / len(widths)
    fps = (samples[-1][2] - samples[0][2]) / (samples[-1][0] - samples[0][0])
    want = 320 if phase.kbps is not None and name == "weak" else 640
    first = next((t - phase.start for t, w, _ in samples if w == want), None)
    reached = f"{first:.1f}" if first is not None else "never"
    a, b = phase.first.get(name, {}), phase.last.get(name, {})

    def grew(key: str) -> float:
        return float(b.get(key, 0) - a.get(key, 0))

    return (f"{small:.0%} at 320, {large:.0%} at 640, {fps:.1f} fps; {want} px after "
            f"{reached} s; {grew('freezeCount'):.0f} freezes "
            f"({grew('totalFreezesDuration'):.1f} s), {grew('packetsLost'):.0f} lost, "
            f"{grew('nackCount'):.0f} NACKs, {grew('pliCount'):.0f} PLIs, "
            f"{grew('keyFramesDecoded'):.0f} keyframes")


async def main(args: argparse.Namespace) -> None:
    os.environ.pop("PARLEY_BENCH_ESTIMATE_CAP", None)  # the real estimate, no lab hook

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE)

    phases: list[Phase] = []
    with namespace(), tempfile.TemporaryDirectory() as tmp:
        app = web.Application()
        app.router.add_get("/", index)
        app.router.add_static("/js", WEB_JS)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "0.0.0.0", port).start()  # the veth end, and loopback
        wrapper = Path(tmp) / "chromium-in-ns"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {NS} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            worker = Parley(http, TREE)  # after the namespace: it gathers on the veth too
            pages: dict[str, Page] = {}
            try:
                async with async_playwright() as playwright:
                    here = await launch(playwright)
                    weak_origin = f"http://{HOST_IP}:{port}"
                    there = await playwright.chromium.launch(
                        executable_path=str(wrapper), headless=True,
                        args=[*CHROMIUM_ARGS,
                              f"--unsafely-treat-insecure-origin-as-secure={weak_origin}"])
                    room = f"sim-shaped-{int(time.monotonic())}"
                    await worker.request({"type": "open_room", "room_id": room,
                                          "kinds": ["audio", "video"]})
                    await worker.request({"type": "set_routing", "room_id": room,
                                          "allowed": [[r, "pub"] for r in RECEIVERS],
                                          "muted": [], "max_slots": 1})
                    for pid in ("pub", *RECEIVERS):
                        browser, base = ((there, weak_origin) if pid == "weak"
                                         else (here, f"http://127.0.0.1:{port}"))
                        page = pages[pid] = await open_page(browser, base)
                        if pid == "pub":
                            await page.evaluate("() => startCamera()")
                        sdp = await page.evaluate("(s) => makeOffer(s)", pid == "pub")
                        reply = await worker.request({"type": "negotiate", "room_id": room,
                                                      "participant_id": pid, "sdp": sdp})
                        await page.evaluate("(sdp) => acceptAnswer(sdp)", reply["sdp"])

                    async def decoding() -> bool:
                        for pid in RECEIVERS:
                            inbound = (await stats(pages[pid]))["inbound"]
                            if not inbound or inbound["framesDecoded"] < 10:
                                return False
                        return True

                    await wait_until(decoding, 60, "both receivers decoding")
                    for name, seconds, kbps in (("unshaped", args.before, None),
                                                (f"{args.rate} kbit/s", args.hold, args.rate),
                                                ("lifted", args.after, None)):
                        shape(kbps)
                        phase = Phase(name, kbps, time.monotonic())
                        phases.append(phase)
                        while time.monotonic() - phase.start < seconds:
                            for pid in RECEIVERS:
                                inbound: dict[str, Any] = (await stats(pages[pid]))["inbound"]
                                phase.first.setdefault(pid, inbound)
                                phase.last[pid] = inbound
                                phase.samples.setdefault(pid, []).append(
                                    (time.monotonic(), inbound["frameWidth"],
                                     inbound["framesDecoded"]))
                            await asyncio.sleep(POLL_S)
                        phase.end = time.monotonic()
                        print(f"{name}: " + "; ".join(f"{pid} {summary(phase, pid)}"
                                                      for pid in RECEIVERS), flush=True)
                    shape(None)
                    for page in pages.values():
                        await page.evaluate("() => closeAll()")
                    await here.close()
                    await there.close()
            finally:
                worker.stop()
        await runner.cleanup()
    print("\n| phase | receiver | decoded |\n| --- | --- | --- |")
    for phase in phases:
        for pid in RECEIVERS:
            print(f"| {phase.name} | {pid} | {summary(phase, pid)} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=300, help="kbit/s, both ways")
    parser.add_argument("--before", type=float, default=15)
    parser.add_argument("--hold", type=float, default=40)
    parser.add_argument("--after", type=float, default=40)
    asyncio.run(main(parser.parse_args()))
