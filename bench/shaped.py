"""A 1:1 video call through the media worker with one side on a link shaped on this machine
(a program, not a test; run as root).

    .venv/bin/python -m bench.shaped [--rates 300,100] [--hold 30] [--recover 25]

The weak side's headless Chromium runs in a network namespace of its own, joined to this one
by a veth pair; ``tc tbf`` on both ends of the pair limits the link each way (a 250 ms
queue, as a mobile network's). The other side's Chromium and the worker (bench/media_worker.py,
which reports link changes) are on this side. For each rate: the call runs unshaped, then
shaped for ``--hold`` s, then unshaped again for ``--recover`` s. Every 100 ms both pages'
getStats are read; printed per phase: the longest audio gap each side heard (no new audio
packets), video frames decoded per second, what each camera sent, the browser's available
bitrate, and the worker's link changes (audio-only fallback, trial, video) with their times.
Only veth addresses in 10.77.0.0/16 (a /24 per run) and this machine's loopback are used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Page, async_playwright

from bench.media import PAGE, TREE, WORKER
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until

NS = f"parley-shaped-{os.getpid()}"
HOST_IF, NS_IF = f"pv{os.getpid() % 10000}h", f"pv{os.getpid() % 10000}n"
# A subnet of its own per run: two runs at once (other sessions on this machine) with the same
# address on two veth pairs would route each other's pages into the wrong namespace.
_NET = f"10.77.{os.getpid() % 250 + 1}"
HOST_IP, NS_IP = f"{_NET}.1", f"{_NET}.2"
POLL_S = 0.1


def sh(*args: str, check: bool = True) -> None:
    subprocess.run(args, check=check, capture_output=True)


@contextlib.contextmanager
def namespace() -> Iterator[None]:
    sh("ip", "netns", "add", NS)
    try:
        sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        sh("ip", "link", "set", NS_IF, "netns", NS)
        sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", HOST_IF)
        sh("ip", "link", "set", HOST_IF, "up")
        sh("ip", "netns", "exec", NS, "ip", "addr", "add", f"{NS_IP}/24", "dev", NS_IF)
        sh("ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up")
        sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
        yield
    finally:
        sh("ip", "link", "del", HOST_IF, check=False)
        sh("ip", "netns", "del", NS, check=False)


def shape(kbps: int | None) -> None:
    """Limit both directions of the veth pair to ``kbps`` (None: lift the limit)."""
    for prefix, dev in ((["ip", "netns", "exec", NS], NS_IF), ([], HOST_IF)):
        sh(*prefix, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        if kbps is not None:
            sh(*prefix, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{kbps}kbit",
               "burst", "4kb", "latency", "250ms")


STATS_JS = """
async () => {
  const out = {audioPackets: 0, framesDecoded: 0, sentBytes: 0, available: 0,
               limitation: '', frameWidth: 0};
  for (const pc of Object.values(pcs)) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets += s.packetsReceived || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded += s.framesDecoded || 0;
        out.frameWidth = Math.max(out.frameWidth, s.frameWidth || 0);
      }
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.sentBytes += s.bytesSent || 0;
        out.limitation = s.qualityLimitationReason || out.limitation;
      }
      if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) {
        out.available = Math.max(out.available, s.availableOutgoingBitrate);
      }
    });
  }
  return out;
}
"""

PAUSE_JS = """
async (active) => {
  for (const pc of Object.values(pcs)) {
    for (const sender of pc.getSenders()) {
      if (!sender.track || sender.track.kind !== 'video') continue;
      const p = sender.getParameters();
      if (!p.encodings || !p.encodings.length) continue;
      for (const e of p.encodings) e.active = active;
      await sender.setParameters(p);
    }
  }
}
"""


@dataclass
class Side:
    name: str
    page: Page
    samples: list[tuple[float, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0


def gap_and_rates(side: Side, phase: Phase) -> dict[str, float]:
    inside = [(t, s) for t, s in side.samples if phase.start <= t <= phase.end]
    if len(inside) < 2:
        return {}
    longest = 0.0
    last_change = inside[0][0]
    for (_, before), (t, now) in itertools.pairwise(inside):
        if now["audioPackets"] > before["audioPackets"]:
            last_change = t
        longest = max(longest, t - last_change)
    (t0, first), (t1, last) = inside[0], inside[-1]
    span = t1 - t0
    return {
        "audio_gap_s": longest,
        "video_fps": (last["framesDecoded"] - first["framesDecoded"]) / span,
        "sent_kbps": (last["sentBytes"] - first["sentBytes"]) * 8 / 1000 / span,
        "available_kbps": statistics.median(s["available"] for _, s in inside) / 1000,
        "frame_width": statistics.median(s["frameWidth"] for _, s in inside),
        "limited_by": statistics.mode(s["limitation"] or "-" for _, s in inside),
    }


def video_back_after(side: Side, since: float) -> float | None:
    """Seconds from ``since`` until the side decodes video again (10+ frames in a second)."""
    later = [(t, s) for t, s in side.samples if t >= since]
    for i, (t, s) in enumerate(later):
        ahead = [x for x in later[i:] if x[0] <= t + 1.0]
        if ahead and ahead[-1][0] - t >= 0.9 and (
                ahead[-1][1]["framesDecoded"] - s["framesDecoded"]) >= 10:
            return t - since
    return None


async def main(args: argparse.Namespace) -> None:
    rates = [int(r) for r in args.rates.split(",")]
    with namespace(), tempfile.TemporaryDirectory() as tmp:
        app = web.Application()
        app.router.add_get("/", lambda _: web.FileResponse(PAGE))
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "0.0.0.0", port).start()  # the veth end, and loopback
        wrapper = Path(tmp) / "chromium-in-ns"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {NS} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        # With --samples, the worker also traces the estimates its link guards see.
        trace = os.open(f"{args.samples}.estimates", os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                        ) if args.samples else None
        worker = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), stdout=asyncio.subprocess.PIPE, cwd=TREE, stderr=trace,
            env={**os.environ, "PYTHONPATH": str(TREE), "PARLEY_BENCH_LINKS": "1",
                 **({"PARLEY_BENCH_ESTIMATES": "1"} if trace is not None else {})})
        links: list[tuple[float, str, str]] = []
        origin = time.monotonic()
        sides: list[Side] = []
        try:
            assert worker.stdout is not None
            reader = worker.stdout
            url = f"http://127.0.0.1:{int((await reader.readline()).split()[1])}/request"

            async with aiohttp.ClientSession() as http, async_playwright() as playwright:
                strong_browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                weak_origin = f"http://{HOST_IP}:{port}"
                weak_browser = await playwright.chromium.launch(
                    executable_path=str(wrapper), headless=True,
                    args=[*CHROMIUM_ARGS,
                          f"--unsafely-treat-insecure-origin-as-secure={weak_origin}"])
                for name, browser, base in (("strong", strong_browser,
                                             f"http://127.0.0.1:{port}"),
                                            ("weak", weak_browser, weak_origin)):
                    context = await browser.new_context(permissions=["camera", "microphone"])
                    page = await context.new_page()
                    await page.goto(base + "/")
                    await page.evaluate("() => startCamera()")
                    sides.append(Side(name, page))

                async def request(message: dict[str, Any]) -> dict[str, Any]:
                    async with http.post(url, json=message) as response:
                        reply: dict[str, Any] = await response.json()
                    assert reply.get("type") != "error", reply
                    return reply

                room = f"shaped-{uuid.uuid4().hex[:6]}"
                await request({"type": "open_room", "room_id": room,
                               "kinds": ["audio", "video"]})
                for side in sides:
                    sdp = await side.page.evaluate("() => makeOffer('pc', 'sendrecv', 0)")
                    answer = await request({"type": "negotiate", "room_id": room,
                                            "participant_id": side.name, "sdp": sdp})
                    await side.page.evaluate("(sdp) => acceptAnswer('pc', sdp)",
                                             answer["sdp"])

                async def follow_links() -> None:
                    states: dict[str, str] = {}
                    while line := await reader.readline():
                        event = json.loads(line)
                        links.append((time.monotonic() - origin, event["participant_id"],
                                      event["state"]))
                        # Both pages act on the call's state, as web/js/call.js does on
                        # call:link: cameras pause while either side is audio only.
                        states[event["participant_id"]] = event["state"]
                        active = "audio_only" not in states.values()
                        for side in sides:
                            await side.page.evaluate(PAUSE_JS, active)

                async def poll() -> None:
                    while True:
                        now = time.monotonic() - origin
                        for side in sides:
                            side.samples.append((now, await side.page.evaluate(STATS_JS)))
                        await asyncio.sleep(POLL_S)

                async def decoding() -> bool:
                    decoded = [(await s.page.evaluate(STATS_JS))["framesDecoded"] for s in sides]
                    return all(n > 20 for n in decoded)

                await wait_until(decoding, 40, "video both ways")
                tasks = [asyncio.create_task(follow_links()), asyncio.create_task(poll())]
                phases: list[Phase] = []

                async def phase(name: str, seconds: float, kbps: int | None) -> Phase:
                    shape(kbps)
                    current = Phase(name, time.monotonic() - origin)
                    await asyncio.sleep(seconds)  # the link is held so long; not a sync
                    current.end = time.monotonic() - origin
                    phases.append(current)
                    return current

                await phase("unshaped", 15, None)
                lifts: dict[int, float] = {}
                for rate in rates:
                    await phase(f"{rate} kbit/s", args.hold, rate)
                    lifted = await phase(f"after {rate} kbit/s", args.recover, None)
                    lifts[rate] = lifted.start
                for task in tasks:
                    task.cancel()
                await weak_browser.close()
                await strong_browser.close()
        finally:
            shape(None)
            worker.terminate()
            await worker.wait()
            await runner.cleanup()
    report(sides, phases, links, lifts, args)
    if args.samples:
        dump(Path(args.samples), sides, phases, links, origin)


def dump(path: Path, sides: list[Side], phases: list[Phase],
         links: list[tuple[float, str, str]], origin: float) -> None:
    path.write_text(json.dumps({"sides": {side.name: side.samples for side in sides},
                                "phases": [vars(p) for p in phases], "links": links,
                                "origin": origin}))


def report(sides: list[Side], phases: list[Phase], links: list[tuple[float, str, str]],
           lifts: dict[int, float], args: argparse.Namespace) -> None:
    print(f"\nshaped link: tbf both ways on the weak side's veth (250 ms queue); "
          f"hold {args.hold:.0f} s, recover {args.recover:.0f} s\n")
    print("| phase | side | longest audio gap (s) | video fps decoded | camera sent (kbit/s) "
          "| available out (kbit/s) | frame width decoded | encoder limited by |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for current in phases:
        for side in sides:
            figures = gap_and_rates(side, current)
            if figures:
                print(f"| {current.name} ({current.start:.0f}-{current.end:.0f} s) | "
                      f"{side.name} | {figures['audio_gap_s']:.2f} | {figures['video_fps']:.1f} "
                      f"| {figures['sent_kbps']:.0f} | {figures['available_kbps']:.0f} "
                      f"| {figures['frame_width']:.0f} | {figures['limited_by']} |")
    print("\nlink changes (s since start, subscriber, state):")
    for at, pid, state in links:
        print(f"  {at:6.1f}  {pid:6}  {state}")
    for rate, since in lifts.items():
        for side in sides:
            back = video_back_after(side, since)
            text = f"{back:.1f} s" if back is not None else "not within the phase"
            print(f"video decoded again at {side.name} after the {rate} kbit/s limit lifted: "
                  f"{text}")


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("bench.shaped makes a network namespace: run it as root")
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="300,100")
    parser.add_argument("--hold", type=float, default=30)
    parser.add_argument("--recover", type=float, default=25)
    parser.add_argument("--samples", help="write every getStats sample and link change here "
                                          "(JSON), to look at a run second by second")
    asyncio.run(main(parser.parse_args()))
