"""Benchmark the media forwarding against a C SFU in the same run (a program, not a test).

    .venv/bin/python -m bench.media --runs 3 [--warmup 5 --window 20] [--only parley|janus]
                                    [--before TREE]

Real headless Chromium pages (fake camera and microphone, 640x480 asked at 30 fps; Chromium's
fake camera sends 20) make two-way VP8 + Opus calls through
- **Parley**: the media worker (``rooms.media.LocalMediaWorker``) alone in a process of its own
  (``bench/media_worker.py``), reached over a small HTTP endpoint on 127.0.0.1 that carries the
  worker's messages; one peer connection per page; with ``--before TREE`` also the worker of
  another source tree (an older commit), in the same run;
- **Janus**: Janus Gateway (Debian's ``janus``), VideoRoom plugin, HTTP transport on
  127.0.0.1, configured here in a temporary folder (room bitrate 0: the shipped room caps
  publishers at 128 kbit/s; ICE on this machine's own interface: Janus 1.1.2 gathers no
  loopback candidates); a publisher and a subscriber peer connection per page.
Nothing leaves the machine. Each camera's video is capped at ``--cap`` kbit/s (400), and
measuring waits until both parties send near it: the servers' bandwidth feedback differs
(Janus negotiates transport-wide congestion control, the worker REMB), and ramps up at its
own pace, so only a capped, ramped-up call puts the same load on each. Each run, for each
server (alternating which goes first): a two-way call, ramp-up, ``--warmup`` s, then the
server process's utime+stime over ``--window`` s; then a third page that only receives both
parties (an extra subscriber), ramp-up again, warm-up, window again.
Every run is measured. Printed: CPU-s per second of the call, and what the extra subscriber
added, with the pages' received frame rate and sent bitrate over each window (the same load for
both servers is what makes the figures comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bench.call import CLOCK_TICKS
from tests.e2e.harness import free_port, launch, wait_until

PAGE = Path(__file__).with_name("media_page.html")
WORKER = Path(__file__).with_name("media_worker.py")
TREE = Path(__file__).resolve().parent.parent
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
JANUS_ROOM = 1234


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process in seconds, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


# -- the servers as the bench drives them ----------------------------------------------------


@dataclass
class Party:
    name: str
    context: BrowserContext
    page: Page


class Server:
    name = ""
    process: subprocess.Popen[bytes]

    async def call(self, a: Party, b: Party) -> None:
        raise NotImplementedError

    async def watch(self, w: Party) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Parley(Server):
    def __init__(self, http: aiohttp.ClientSession, tree: Path, name: str = "Parley") -> None:
        self.http = http
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.process = subprocess.Popen([sys.executable, str(WORKER)], stdout=subprocess.PIPE,
                                        cwd=tree, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the worker process did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/request"
        self.room = ""

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.url, json=message) as response:
            reply: dict[str, Any] = await response.json()
        if reply.get("type") == "error":
            raise RuntimeError(f"worker refused {message['type']}: {reply}")
        return reply

    async def negotiate(self, party: Party, send: str | None, extra: int) -> None:
        sdp = await party.page.evaluate("([s, e]) => makeOffer('pc', s, e)", [send, extra])
        reply = await self.request({"type": "negotiate", "room_id": self.room,
                                    "participant_id": party.name, "sdp": sdp})
        await party.page.evaluate("(sdp) => acceptAnswer('pc', sdp)", reply["sdp"])

    async def call(self, a: Party, b: Party) -> None:
        self.room = f"bench-{uuid.uuid4().hex[:8]}"
        await self.request({"type": "open_room", "room_id": self.room,
                            "kinds": ["audio", "video"]})
        # The watcher receives both parties on two slots; the parties receive each other only.
        allowed = [["a", "b"], ["b", "a"], ["w", "a"], ["w", "b"]]
        await self.request({"type": "set_routing", "room_id": self.room, "allowed": allowed,
                            "muted": [], "max_slots": 2})
        await self.negotiate(a, "sendrecv", 0)
        await self.negotiate(b, "sendrecv", 0)

    async def watch(self, w: Party) -> None:
        await self.negotiate(w, None, 2)

    async def end(self) -> None:
        await self.request({"type": "close_room", "room_id": self.room})


class JanusSession:
    """A Janus API session over the HTTP transport, its events read by long polling."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.session = 0
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.poller: asyncio.Task[None] | None = None

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        transaction = uuid.uuid4().hex
        async with self.http.post(self.base + path, json={**body, "transaction": transaction}
                                  ) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus refused {body}: {reply}")
        return reply

    async def start(self) -> None:
        self.session = (await self.post("", {"janus": "create"}))["data"]["id"]
        self.poller = asyncio.create_task(self.poll())

    async def poll(self) -> None:
        while True:
            async with self.http.get(f"{self.base}/{self.session}?maxev=10") as response:
                events = await response.json(content_type=None)
            for event in events if isinstance(events, list) else [events]:
                future = self.waiting.pop(event.get("transaction", ""), None)
                if future is not None and not future.done():
                    future.set_result(event)

    async def attach(self) -> int:
        reply = await self.post(f"/{self.session}", {"janus": "attach",
                                                     "plugin": "janus.plugin.videoroom"})
        handle: int = reply["data"]["id"]
        return handle

    async def message(self, handle: int, body: dict[str, Any],
                      jsep: dict[str, Any] | None = None) -> dict[str, Any]:
        transaction = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[transaction] = future
        payload: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            payload["jsep"] = jsep
        async with self.http.post(f"{self.base}/{self.session}/{handle}", json=payload
                                  ) as response:
            reply = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus refused {body}: {reply}")
        if reply.get("janus") == "success":  # answered synchronously
            self.waiting.pop(transaction, None)
            return reply
        event = await asyncio.wait_for(future, 20)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise RuntimeError(f"videoroom refused {body}: {data}")
        return event

    async def close(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
        try:
            await self.post(f"/{self.session}", {"janus": "destroy"})
        except (aiohttp.ClientError, RuntimeError):
            pass


def janus_configs(folder: Path, http_port: int, interface: str) -> Path:
    """Janus's configuration: only the VideoRoom plugin and the HTTP transport on 127.0.0.1."""
    def others(kind: str, keep: str) -> str:
        return ",".join(sorted(p.name for p in (JANUS_LIB / kind).glob("*.so")
                               if p.name != keep))

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "janus.jcfg").write_text(f"""
general: {{
  configs_folder = "{folder}"
  plugins_folder = "{JANUS_LIB / 'plugins'}"
  transports_folder = "{JANUS_LIB / 'transports'}"
  events_folder = "{JANUS_LIB / 'events'}"
  loggers_folder = "{JANUS_LIB / 'loggers'}"
  debug_level = 3
  session_timeout = 120
}}
media: {{ }}
nat: {{
  ice_enforce_list = "{interface}"
}}
plugins: {{ disable = "{others('plugins', 'libjanus_videoroom.so')}" }}
transports: {{ disable = "{others('transports', 'libjanus_http.so')}" }}
events: {{ broadcast = false  disable = "{others('events', '')}" }}
loggers: {{ disable = "{others('loggers', '')}" }}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""
general: {{ json = "plain"  base_path = "/janus"  http = true  port = {http_port}
            ip = "127.0.0.1"  https = false }}
admin: {{ admin_http = false  admin_https = false }}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text(f"""
general: {{ }}
room-{JANUS_ROOM}: {{
  description = "bench"  publishers = 6  bitrate = 0  fir_freq = 10
  audiocodec = "opus"  videocodec = "vp8"  record = false
}}
""")
    return folder / "janus.jcfg"


def own_interface() -> str:
    """The interface of this machine's default route (Janus cannot use loopback)."""
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            return fields[0]
    raise RuntimeError("no default route: Janus needs a non-loopback interface")


class Janus(Server):
    name = "Janus"

    def __init__(self, http: aiohttp.ClientSession, folder: Path) -> None:
        self.http = http
        port = free_port()
        config = janus_configs(folder, port, own_interface())
        self.log = (folder / "janus.log").open("wb")
        self.process = subprocess.Popen(["janus", "-C", str(config), "-F", str(folder), "-o"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}/janus"
        self.sessions: list[JanusSession] = []
        self.feeds: dict[str, int] = {}

    async def ready(self) -> None:
        async def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError("janus exited; see its log")
            try:
                async with self.http.get(self.base + "/info") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(up, 20, "janus HTTP transport")

    async def session(self) -> JanusSession:
        session = JanusSession(self.http, self.base)
        await session.start()
        self.sessions.append(session)
        return session

    async def publish(self, party: Party) -> JanusSession:
        session = await self.session()
        handle = await session.attach()
        joined = await session.message(handle, {"request": "join", "ptype": "publisher",
                                                "room": JANUS_ROOM, "display": party.name})
        self.feeds[party.name] = joined["plugindata"]["data"]["id"]
        sdp = await party.page.evaluate("() => makeOffer('pub', 'sendonly', 0)")
        answer = await session.message(handle, {"request": "publish", "audio": True,
                                                "video": True},
                                       {"type": "offer", "sdp": sdp, "trickle": False})
        await party.page.evaluate("(sdp) => acceptAnswer('pub', sdp)", answer["jsep"]["sdp"])
        return session

    async def subscribe(self, session: JanusSession, party: Party, feeds: list[str]) -> None:
        handle = await session.attach()
        join = {"request": "join", "ptype": "subscriber", "room": JANUS_ROOM,
                "streams": [{"feed": self.feeds[f]} for f in feeds]}
        deadline = time.monotonic() + 20
        while True:
            try:
                attached = await session.message(handle, join)
                break
            except RuntimeError as exc:
                # A feed exists only once its publisher's media is up ("No such feed").
                if "428" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        sdp = await party.page.evaluate("(sdp) => answerOffer('sub', sdp)",
                                        attached["jsep"]["sdp"])
        await session.message(handle, {"request": "start"},
                              {"type": "answer", "sdp": sdp, "trickle": False})

    async def call(self, a: Party, b: Party) -> None:
        self.feeds = {}
        session_a = await self.publish(a)
        session_b = await self.publish(b)
        await self.subscribe(session_a, a, ["b"])
        await self.subscribe(session_b, b, ["a"])

    async def watch(self, w: Party) -> None:
        await self.subscribe(await self.session(), w, ["a", "b"])

    async def end(self) -> None:
        for session in self.sessions:
            await session.close()
        self.sessions = []

    def stop(self) -> None:
        super().stop()
        self.log.close()


# -- one measured run ------------------------------------------------------------------------


@dataclass
class Window:
    cpu_per_s: float
    user_share: float  # of cpu_per_s, the part in user space (the rest: the kernel's)
    received_fps: dict[str, float] = field(default_factory=dict)
    sent_kbps: dict[str, float] = field(default_factory=dict)
    received_kbps: float = 0.0  # video, all pages together: what the server forwarded

    @property
    def cpu_ms_per_mbit(self) -> float:
        """Server CPU per forwarded megabit of video: comparable when the loads differ."""
        return self.cpu_per_s * 1000 / (self.received_kbps / 1000) if self.received_kbps else 0.0


@dataclass
class RunResult:
    server: str
    call: Window
    watched: Window

    @property
    def per_subscriber(self) -> float:
        return self.watched.cpu_per_s - self.call.cpu_per_s


async def counts(party: Party) -> dict[str, Any]:
    result: dict[str, Any] = await party.page.evaluate("() => counts()")
    return result


async def receiving(party: Party, streams: int) -> None:
    async def flowing() -> bool:
        c = await counts(party)
        return bool(c["videoStreams"] >= streams and c["framesDecoded"] > 10)

    await wait_until(flowing, 40, f"{party.name} decoding {streams} video stream(s)")


async def sending_rate(party: Party) -> float:
    """What the page's camera sends now (kbit/s, over half a second)."""
    first = await counts(party)
    t0 = time.monotonic()
    await asyncio.sleep(0.5)
    second = await counts(party)
    return float((second["bytesSent"] - first["bytesSent"]) * 8 / 1000
                 / (time.monotonic() - t0))


async def at_cap(parties: list[Party], cap_kbps: float) -> None:
    """Every sending page sends near the cap (its server's bandwidth feedback has ramped up):
    each server is then measured forwarding the same load."""
    async def ramped() -> bool:
        rates = [await sending_rate(p) for p in parties if p.name != "w"]
        return all(rate >= 0.8 * cap_kbps for rate in rates)

    try:
        await wait_until(ramped, 45, f"both parties sending about {cap_kbps:.0f} kbit/s", 0.5)
    except AssertionError:
        # Measured all the same: the sent kbit/s in the table shows the load was lower.
        print(f"  (the cameras did not reach {0.8 * cap_kbps:.0f} kbit/s within 45 s)",
              flush=True)


async def measure(server: Server, parties: list[Party], warmup: float, window: float,
                  cap_kbps: float) -> Window:
    await at_cap(parties, cap_kbps)
    await asyncio.sleep(warmup)  # a steady call is measured, not its start
    before = {p.name: await counts(p) for p in parties}
    (user0, sys0), t0 = cpu_times(server.process.pid), time.monotonic()
    await asyncio.sleep(window)
    (user1, sys1), t1 = cpu_times(server.process.pid), time.monotonic()
    after = {p.name: await counts(p) for p in parties}
    elapsed = t1 - t0
    used = (user1 - user0) + (sys1 - sys0)
    return Window(
        cpu_per_s=used / elapsed,
        user_share=(user1 - user0) / used if used else 0.0,
        received_fps={n: (after[n]["framesDecoded"] - before[n]["framesDecoded"]) / elapsed
                      for n in after},
        sent_kbps={n: (after[n]["bytesSent"] - before[n]["bytesSent"]) * 8 / 1000 / elapsed
                   for n in after if after[n]["bytesSent"]},
        received_kbps=sum(after[n]["bytesReceived"] - before[n]["bytesReceived"]
                          for n in after) * 8 / 1000 / elapsed)


async def new_party(browser: Browser, base_url: str, name: str) -> Party:
    context = await browser.new_context(base_url=base_url, permissions=["camera", "microphone"])
    page = await context.new_page()
    await page.goto("/")
    await page.evaluate("() => startCamera()")
    return Party(name, context, page)


async def one_run(server: Server, browser: Browser, base_url: str, warmup: float,
                  window: float, cap_kbps: float) -> RunResult:
    a = await new_party(browser, base_url, "a")
    b = await new_party(browser, base_url, "b")
    parties = [a, b]
    try:
        await server.call(a, b)
        for party in parties:
            await party.page.evaluate("(bps) => capVideo(bps)", int(cap_kbps * 1000))
        await asyncio.gather(receiving(a, 1), receiving(b, 1))
        call = await measure(server, parties, warmup, window, cap_kbps)
        w = await new_party(browser, base_url, "w")
        parties.append(w)
        await server.watch(w)
        await receiving(w, 2)
        watched = await measure(server, parties, warmup, window, cap_kbps)
        return RunResult(server.name, call, watched)
    finally:
        for party in parties:
            await party.page.evaluate("() => closeAll()")
            await party.context.close()
        await server.end()


# -- the table -------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})"


def report(results: list[RunResult], idle: dict[str, float], args: argparse.Namespace) -> None:
    print(f"\nruns: {args.runs}; cameras capped at {args.cap:.0f} kbit/s, measured once both "
          f"send near it, after a {args.warmup:.0f} s warm-up, over {args.window:.0f} s; "
          "CPU-s per s of the server process (utime+stime): median (min-max)\n")
    print("| server | two-way call | per extra subscriber | call: CPU-ms per forwarded Mbit "
          "| idle | call: user share | call: received fps (a, b) | call: sent kbit/s (a, b) "
          "| runs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    figures: dict[str, float] = {}
    for name in dict.fromkeys(r.server for r in results):
        mine = [r for r in results if r.server == name]
        calls = [r.call.cpu_per_s for r in mine]
        extra = [r.per_subscriber for r in mine]
        fps = [statistics.mean(r.call.received_fps.values()) for r in mine]
        kbps = [statistics.mean(r.call.sent_kbps.values()) for r in mine]
        figures[name] = statistics.median(calls)
        user = statistics.median(r.call.user_share for r in mine)
        per_mbit = statistics.median(r.call.cpu_ms_per_mbit for r in mine)
        print(f"| {name} | {spread(calls)} | {spread(extra)} | {per_mbit:.1f} | "
              f"{idle[name]:.4f} | "
              f"{user:.0%} | {statistics.median(fps):.1f} | {statistics.median(kbps):.0f} | {len(mine)} |")
    if "Janus" in figures:
        for name in (n for n in figures if n.startswith("Parley")):
            print(f"\nratio {name} / Janus, two-way call (medians): "
                  f"{figures[name] / figures['Janus']:.2f}")
    print("\nper run (CPU-s/s: call, with watcher, extra; watcher fps, cameras' kbit/s):")
    for r in results:
        print(f"  {r.server:16} {r.call.cpu_per_s:.4f} {r.watched.cpu_per_s:.4f} "
              f"{r.per_subscriber:+.4f}  call {r.call.cpu_ms_per_mbit:.1f} ms/Mbit "
              f"(forwarded {r.call.received_kbps:.0f} kbit/s)  "
              f"w={r.watched.received_fps.get('w', 0):.1f} fps "
              f"kbit/s={json.dumps({k: round(v) for k, v in r.watched.sent_kbps.items()})}")


async def idle_cpu(server: Server, seconds: float = 5) -> float:
    cpu0, t0 = cpu_seconds(server.process.pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(server.process.pid) - cpu0) / (time.monotonic() - t0)


async def main(args: argparse.Namespace) -> None:
    app = web.Application()
    app.router.add_get("/", lambda _: web.FileResponse(PAGE))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base_url = f"http://127.0.0.1:{port}"
    servers: list[Server] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            try:
                if args.only in (None, "parley"):
                    servers.append(Parley(http, TREE))
                    if args.before:
                        servers.append(Parley(http, Path(args.before), "Parley (before)"))
                if args.only in (None, "janus"):
                    if shutil.which("janus") is None:
                        raise SystemExit("janus is not installed: make bench-deps")
                    janus = Janus(http, Path(tmp) / "janus")
                    await janus.ready()
                    servers.append(janus)
                idle = {s.name: await idle_cpu(s) for s in servers}
                results: list[RunResult] = []
                async with async_playwright() as playwright:
                    browser = await launch(playwright)
                    for i in range(args.runs):
                        order = servers if i % 2 == 0 else servers[::-1]
                        for server in order:
                            result = await one_run(server, browser, base_url, args.warmup,
                                                   args.window, args.cap)
                            print(f"run {i + 1} {server.name}: call {result.call.cpu_per_s:.4f}"
                                  f", extra subscriber {result.per_subscriber:+.4f}",
                                  flush=True)
                            results.append(result)
                    await browser.close()
            finally:
                for server in servers:
                    server.stop()
    await runner.cleanup()
    report(results, idle, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--cap", type=float, default=400,
                        help="kbit/s each camera may send; measuring starts once both do")
    parser.add_argument("--only", choices=("parley", "janus"))
    parser.add_argument("--before", metavar="TREE",
                        help="also measure the media worker of this source tree (e.g. "
                             "`git archive` of an older commit), in the same run")
    asyncio.run(main(parser.parse_args()))
