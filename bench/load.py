"""Load benchmark of the signaling cluster (a program, not a test).

    .venv/bin/python -m bench.load [--connections 5000] [--rate 500 | --rate 50,100,500]
                                   [--seconds 5] [--pairs 200]
                                   [--processes 1,2] [--redis redis://127.0.0.1:6379/12]
                                   [--client-processes 2]

Servers run as their own processes on loopback; this process is the client, speaking engine.io
v4 / socket.io v5 frames over aiohttp's WebSocket client itself (``WireClient``: no
python-socketio client, so the client stays light). For 1 and 2 processes, against a bare
python-socketio server (2 processes: two joined by ``AsyncRedisManager`` on a blocking pool)
measured in the same run on the same loop type:

- memory per connection and connect rate: ``--connections`` authenticated idle clients, held
  open for the rest of the run (RSS growth of the server processes / connections);
- join-to-offer and join-to-matched latency (Parley only): citizens arrive by ``POST
  /api/intake`` at ``--rate`` per second for ``--seconds`` (at each rate in turn, lowest first,
  when several are given: where the latency target holds); lawyers accept every offer at once,
  send one chat message and end the case (wrap-up 0), so the whole flow runs;
- relay rate and p99: ``--pairs`` citizen/lawyer pairs in a consultation (2 processes: citizen
  on one, lawyer on the other) relay ``chat:send`` -> ``chat:message``. Negotiation itself is an
  acknowledged request to the media worker (real SDP, aiortc), so the relay measured is chat, the
  same path as every one-to-one push; Parley also writes each message to the database.
  Closed loop, 2 in flight per sender, at most 15 per second per connection (the per-connection
  rate limit is 20/s), from ``--client-processes`` client processes started together, so the
  client is not what saturates first; server CPU per relayed message alongside;
- server CPU and SQL statements (from /metrics) per join, over the whole flow, and the CPU of the
  whole machine per join (client, servers, PostgreSQL and Redis: what a join rate costs in
  cores); with Redis, the commands per join (``INFO commandstats``: the whole Redis server, so
  commands run inside scripts count too, and nothing else should use it meanwhile);
- lost messages: acknowledged sends never delivered;
- overload: 1.5x the measured relay rate, open loop, for 10 s: disconnects, and the recovery
  time (from the end of the overload until every acknowledged message was delivered).

PostgreSQL (a database created for the run and dropped after) and Redis (a key prefix of the run,
deleted after) as in production; everything on 127.0.0.1, every phase bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

PARLEY = os.environ.get("BENCH_PARLEY") or str(Path(sys.executable).parent / "parley")
PG = "postgresql://postgres@127.0.0.1:5432/test"
KEY = secrets.token_urlsafe(32)
WINDOW = 2
PER_CONNECTION_RATE = 15.0


# --- the light client -------------------------------------------------------------------


class WireClient:
    """One socket.io connection spoken frame by frame (engine.io v4, socket.io v5, JSON)."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count()
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closing = False

    async def connect(self, session: aiohttp.ClientSession, url: str, auth: dict[str, Any]) -> None:
        ws = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket",
                                      autoping=False, max_msg_size=0)
        opened = await ws.receive_str(timeout=60)
        assert opened.startswith("0"), opened
        await ws.send_str("40" + json.dumps(auth))
        while True:
            frame = await ws.receive_str(timeout=60)
            if frame == "2":
                await ws.send_str("3")
                continue
            if frame.startswith("40"):
                break
            if frame.startswith("42"):
                continue  # pushed during the connect handler (e.g. queue:size), before the ack
            raise ConnectionError(f"refused: {frame[:200]}")
        self._ws = ws
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame: str = message.data
            if frame == "2":
                await self._ws.send_str("3")
            elif frame.startswith("42"):
                event, *args = json.loads(frame[2:])
                handler = self.handlers.get(event)
                if handler is not None:
                    handler(args[0] if args else None)
            elif frame.startswith("43"):
                body = frame[2:]
                digits = len(body) - len(body.lstrip("0123456789"))
                future = self._acks.pop(int(body[:digits]), None)
                if future is not None and not future.done():
                    future.set_result(json.loads(body[digits:])[0])
            elif frame.startswith("41"):
                break
        if not self.closing:
            self._stats.disconnects += 1

    async def call(self, event: str, data: Any) -> Any:
        assert self._ws is not None
        ack_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        await self._ws.send_str(f"42{ack_id}" + json.dumps([event, data]))
        return await asyncio.wait_for(future, 30)

    async def close(self) -> None:
        self.closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


@dataclass
class Stats:
    """What a client process's connections saw (the relay's own figures: RelayOutcome)."""

    disconnects: int = 0
    refused: int = 0


def pct(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- servers ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (every process: client, servers,
    PostgreSQL, Redis), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(command: list[str], env: dict[str, str], log: Path) -> Server:
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        command, env={**os.environ, **env, "PARLEY_PORT": str(port)},
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")  # noqa: ASYNC240
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return Server(url, process)
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def baseline_server(port: int, redis_url: str | None, channel: str) -> None:
    """The bare python-socketio relay: rooms from auth, chat:send -> chat:message to the room."""
    import socketio
    from aiohttp import web

    from signaling.fanout import BlockingRedisManager

    manager = BlockingRedisManager(redis_url, channel=channel) if redis_url else None
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    async def connect(sid: str, environ: Any, auth: Any) -> None:
        await sio.enter_room(sid, str(auth.get("room", "idle")))

    async def chat(sid: str, data: Any) -> dict[str, Any]:
        await sio.emit("chat:message", {"text": data["text"]}, to=data["room_id"])
        return {"ok": True}

    sio.on("connect", connect)
    sio.on("chat:send", chat)
    app = web.Application()
    sio.attach(app)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- phases ---------------------------------------------------------------------------------


def citizen_token(case_id: str) -> str:
    from server.tokens import Claims, sign

    return sign(Claims(sub=case_id, kind="citizen", role="citizen", case=case_id, name="群众",
                       exp=int(time.time()) + 3600), KEY.encode())


def lawyer_token(user_id: int) -> str:
    from server.tokens import Claims, sign

    return sign(Claims(sub=str(user_id), kind="staff", role="lawyer", name=f"律师{user_id}",
                       exp=int(time.time()) + 3600), KEY.encode())


async def open_many(session: aiohttp.ClientSession, urls: Sequence[str],
                    auths: Sequence[dict[str, Any]], stats: Stats, ordered: bool = False
                    ) -> tuple[list[WireClient], float]:
    """Connect one client per auth (to ``urls`` in turn); ``ordered``: in the auths' order."""
    clients: list[tuple[int, WireClient]] = []
    gate = asyncio.Semaphore(100)

    async def one(i: int) -> None:
        async with gate:
            client = WireClient(stats)
            await client.connect(session, urls[i % len(urls)], auths[i])
            clients.append((i, client))

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(len(auths)))), 300)
    rate = len(auths) / (time.perf_counter() - started)
    if ordered:
        clients.sort(key=lambda pair: pair[0])
    return [client for _, client in clients], rate


async def connections_phase(session: aiohttp.ClientSession, servers: Sequence[Server], n: int,
                            auth: Callable[[int], dict[str, Any]], stats: Stats
                            ) -> tuple[list[WireClient], float, float]:
    await asyncio.sleep(1.0)
    before = sum(s.rss_kib() for s in servers)
    clients, rate = await open_many(session, [s.url for s in servers], [auth(i) for i in range(n)],
                                    stats)
    await asyncio.sleep(2.0)
    after = sum(s.rss_kib() for s in servers)
    return clients, (after - before) / n, rate


@dataclass
class Pair:
    sender: WireClient
    receiver: WireClient
    room_id: str
    case_id: str = ""
    spec: PairSpec | None = None


@dataclass(frozen=True)
class PairSpec:
    """How a client process connects one relay pair again (picklable)."""

    sender_url: str
    sender_auth: dict[str, Any]
    receiver_url: str
    receiver_auth: dict[str, Any]
    room_id: str


@dataclass
class RelayOutcome:
    """One relay run's raw figures (summed over client processes by ``merge``)."""

    delivered: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    drained_s: float = 0.0
    acked: int = 0
    refused: int = 0
    disconnects: int = 0

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @staticmethod
    def merge(parts: Sequence[RelayOutcome]) -> RelayOutcome:
        return RelayOutcome(
            delivered=sum(p.delivered for p in parts), seconds=max(p.seconds for p in parts),
            latencies=[x for p in parts for x in p.latencies], lost=sum(p.lost for p in parts),
            drained_s=max(p.drained_s for p in parts), acked=sum(p.acked for p in parts),
            refused=sum(p.refused for p in parts), disconnects=sum(p.disconnects for p in parts))


async def relay_phase(pairs: Sequence[Pair], seconds: float, stats: Stats,
                      rate_per_pair: float | None = None) -> RelayOutcome:
    """Closed loop (``rate_per_pair`` None) or open loop, ``seconds`` long, then up to 30 s
    for every acknowledged message to arrive."""
    delivered: set[tuple[int, int]] = set()
    acked: set[tuple[int, int]] = set()
    latencies: list[float] = []
    for index, pair in enumerate(pairs):
        def got(data: Any, index: int = index) -> None:
            tag, seq, sent = data["text"].split(":")
            if int(tag) == index:
                delivered.add((index, int(seq)))
                latencies.append(time.perf_counter() - float(sent))
        pair.receiver.handlers["chat:message"] = got
    stop = time.perf_counter() + seconds

    async def send(index: int, pair: Pair, seq: int) -> None:
        text = f"{index}:{seq}:{time.perf_counter()!r}"
        try:
            ack = await pair.sender.call("chat:send", {"room_id": pair.room_id, "text": text})
        except (TimeoutError, ConnectionError, RuntimeError):
            return
        if isinstance(ack, dict) and ack.get("ok"):
            acked.add((index, seq))
        else:
            stats.refused += 1

    async def closed(index: int, pair: Pair) -> None:
        gap = 1.0 / PER_CONNECTION_RATE
        seq = 0
        pending: set[asyncio.Task[None]] = set()
        while time.perf_counter() < stop:
            while len(pending) >= WINDOW:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.add(asyncio.create_task(send(index, pair, seq)))
            seq += 1
            await asyncio.sleep(gap)
        await asyncio.gather(*pending)

    async def opened(index: int, pair: Pair) -> None:
        assert rate_per_pair is not None
        tasks = []
        start = time.perf_counter()
        for seq in itertools.count():
            at = start + seq / rate_per_pair + index / (rate_per_pair * len(pairs))
            if at >= stop:
                break
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            tasks.append(asyncio.create_task(send(index, pair, seq)))
        await asyncio.gather(*tasks)

    began = time.perf_counter()
    await asyncio.gather(*((closed if rate_per_pair is None else opened)(i, p)
                           for i, p in enumerate(pairs)))
    ended = time.perf_counter()
    drain_deadline = ended + 30
    while not acked <= delivered and time.perf_counter() < drain_deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    drained = time.perf_counter() - ended
    return RelayOutcome(delivered=len(delivered), seconds=ended - began, latencies=latencies,
                        lost=len(acked - delivered), drained_s=drained, acked=len(acked))


# --- Parley runs -----------------------------------------------------------------------------


async def create_lawyers(database_url: str, n: int, category: str, first: int = 0) -> list[int]:
    from server.db import Database
    from server.migrate import upgrade
    from server.models import User
    from server.passwords import hash_password

    database = Database(database_url)
    await upgrade(database)
    password = hash_password("bench password")
    now = datetime.now(UTC)
    async with database.session() as session, session.begin():
        users = [User(username=f"bench{i}", password_hash=password, role="lawyer",
                      display_name=f"律师{i}", skills={category: 5}, languages=["zh"],
                      region=None, created_at=now) for i in range(first, first + n)]
        session.add_all(users)
    ids = [u.id for u in users]
    await database.close()
    return ids


async def join_phase(session: aiohttp.ClientSession, servers: Sequence[Server],
                     lawyers: Sequence[WireClient], rate: float, seconds: float
                     ) -> tuple[list[float], list[float], int, int]:
    """Intakes at ``rate``; returns join->offer and join->accepted latencies and unserved."""
    joined: dict[str, float] = {}
    # An offer may beat the HTTP reply that names its case: wait for the reply, not poll.
    replies: dict[str, asyncio.Future[float]] = {}

    def reply_for(case_id: str) -> asyncio.Future[float]:
        if case_id not in replies:
            replies[case_id] = asyncio.get_running_loop().create_future()
        return replies[case_id]

    to_offer: list[float] = []
    to_match: list[float] = []
    served: set[str] = set()

    async def serve(lawyer: WireClient, offer: Any) -> None:
        offered = time.perf_counter()
        case_id = offer["case"]["id"]
        started = await reply_for(case_id)
        to_offer.append(offered - started)
        try:
            reply = await lawyer.call("offer:accept", {"case_id": case_id})
            if not reply.get("ok"):
                return
        except TimeoutError:
            return
        to_match.append(time.perf_counter() - joined[case_id])
        served.add(case_id)
        try:
            await lawyer.call("chat:send", {"room_id": reply["room"]["room_id"], "text": "您好"})
            await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"})
        except TimeoutError:
            return

    for lawyer in lawyers:
        lawyer.handlers["offer:new"] = (
            lambda offer, lawyer=lawyer: asyncio.ensure_future(serve(lawyer, offer)))
    body = {"name": "群众", "phone": "13800138000", "service_type": "consultation",
            "category": "labour", "mode": "video", "description": "欠薪", "region": "qz-kecheng"}

    failed = 0
    replied: list[float] = []

    async def join(i: int) -> None:
        nonlocal failed
        started = time.perf_counter()
        try:
            async with session.post(servers[i % len(servers)].url + "/api/intake",
                                    json=body) as r:
                reply = await r.json()
            joined[reply["case_id"]] = started
            reply_for(reply["case_id"]).set_result(started)
            replied.append(time.perf_counter() - started)
        except (aiohttp.ClientError, KeyError, TimeoutError):
            failed += 1  # refused (e.g. the database pool timed out): never joined

    total = int(rate * seconds)
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(join(i)))
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 30
    while len(served) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    for lawyer in lawyers:
        lawyer.handlers.pop("offer:new", None)
    print(f"intake replies p50/p99 {pct(replied, 0.5) * 1000:.1f} / {pct(replied, 0.99) * 1000:.1f}"
          f" ms; {len(served)} served", flush=True)
    return to_offer, to_match, total - len(served), failed


async def matched_pairs(session: aiohttp.ClientSession, servers: Sequence[Server],
                        lawyers: Sequence[WireClient], lawyer_ids: Sequence[int], stats: Stats
                        ) -> list[Pair]:
    """One consultation per lawyer, the citizen on the other process when there are two."""
    rooms: dict[str, str] = {}
    waiting: dict[int, asyncio.Future[str]] = {}
    for index, lawyer in enumerate(lawyers):
        waiting[index] = asyncio.get_running_loop().create_future()

        async def accept(offer: Any, lawyer: WireClient = lawyer, index: int = index) -> None:
            reply = await lawyer.call("offer:accept", {"case_id": offer["case"]["id"]})
            if reply.get("ok") and not waiting[index].done():
                rooms[offer["case"]["id"]] = reply["room"]["room_id"]
                waiting[index].set_result(offer["case"]["id"])

        lawyer.handlers["offer:new"] = lambda offer, accept=accept: asyncio.ensure_future(accept(offer))
    body = {"name": "群众", "phone": "13800138000", "service_type": "consultation",
            "category": "marriage_family", "mode": "video", "description": "离婚", "region": "qz-kecheng"}
    tokens: dict[str, str] = {}
    for _ in lawyers:
        async with session.post(servers[0].url + "/api/intake", json=body) as r:
            reply = await r.json()
        tokens[reply["case_id"]] = reply["token"]
    cases = await asyncio.wait_for(asyncio.gather(*waiting.values()), 60)
    for lawyer in lawyers:
        lawyer.handlers.pop("offer:new", None)
    citizens, _ = await open_many(session, [servers[0].url], [{"token": tokens[c]} for c in cases],
                                  stats, ordered=True)
    return [Pair(citizen, lawyer, rooms[case], case,
                 PairSpec(servers[0].url, {"token": tokens[case]}, servers[-1].url,
                          {"token": lawyer_token(lawyer_id)}, rooms[case]))
            for citizen, lawyer, case, lawyer_id in zip(citizens, lawyers, cases, lawyer_ids,
                                                        strict=True)]


@dataclass
class Result:
    mem_kib: float = 0.0
    connect_rate: float = 0.0
    relay_rate: float = 0.0
    relay_p99_ms: float = 0.0
    lost: int = 0
    overload_disconnects: int = 0
    overload_recovery_s: float = 0.0
    overload_lost: int = 0
    overload_refused: int = 0
    # per arrival rate: (join -> offer p50, p99), (join -> matched p50, p99), in ms
    offer_ms: dict[float, tuple[float, float]] = field(default_factory=dict)
    match_ms: dict[float, tuple[float, float]] = field(default_factory=dict)
    unserved: int = 0
    join_failed: int = 0
    cpu_ms_per_join: float = float("nan")
    machine_ms_per_join: float = float("nan")  # client, servers, PostgreSQL and Redis together
    statements_per_join: dict[str, float] = field(default_factory=dict)
    redis_per_join: dict[str, float] = field(default_factory=dict)  # command -> calls per join
    cpu_ms_per_relay: float = float("nan")


async def run_parley(n_proc: int, args: argparse.Namespace, tmp: Path) -> Result:
    import asyncpg

    name = f"parley_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": database_url, "PARLEY_SECRET_KEY": KEY, "PARLEY_WRAP_UP_S": "0",
           "PARLEY_DATA_DIR": str(tmp / f"parley{n_proc}"), "PARLEY_REDIS_PREFIX": prefix,
           "REDIS_URL": args.redis if n_proc > 1 else ""}
    servers: list[Server] = []
    clients: list[WireClient] = []
    result = Result()
    stats = Stats()
    try:
        ids = await create_lawyers(database_url, args.pairs, "labour")
        relay_ids = await create_lawyers(database_url, args.pairs, "marriage_family",
                                         first=args.pairs)
        servers = list(await asyncio.gather(*(
            start([PARLEY, "serve", "--role", "all"], env, tmp / f"parley{n_proc}-{i}.log")
            for i in range(n_proc))))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            idle, result.mem_kib, result.connect_rate = await connections_phase(
                session, servers, args.connections,
                lambda i: {"token": citizen_token(uuid.uuid4().hex)}, stats)
            clients += idle
            # Lawyers on the last process: with two, every match and relay crosses processes.
            lawyers, _ = await open_many(session, [servers[-1].url],
                                         [{"token": lawyer_token(i)} for i in ids], stats)
            clients += lawyers
            cpu_before = sum(s.cpu_s() for s in servers)
            machine_before = machine_busy_s()
            statements_before = await statements(session, servers)
            redis_before = await redis_calls(args.redis) if n_proc > 1 else {}
            joins = 0
            for rate in args.rate:  # lowest first: each rate meets a queue the last one drained
                to_offer, to_match, unserved, failed = await join_phase(
                    session, servers, lawyers, rate, args.seconds)
                result.unserved += unserved
                result.join_failed += failed
                joins += len(to_match)
                result.offer_ms[rate] = (pct(to_offer, 0.5) * 1000, pct(to_offer, 0.99) * 1000)
                result.match_ms[rate] = (pct(to_match, 0.5) * 1000, pct(to_match, 0.99) * 1000)
            joins = max(1, joins)
            result.cpu_ms_per_join = (sum(s.cpu_s() for s in servers) - cpu_before) * 1000 / joins
            result.machine_ms_per_join = (machine_busy_s() - machine_before) * 1000 / joins
            result.statements_per_join = {
                verb: (n - statements_before.get(verb, 0)) / joins
                for verb, n in (await statements(session, servers)).items()}
            if n_proc > 1:
                result.redis_per_join = {
                    command: (n - redis_before.get(command, 0)) / joins
                    for command, n in (await redis_calls(args.redis)).items()}
            relay_lawyers, _ = await open_many(session, [servers[-1].url],
                                               [{"token": lawyer_token(i)} for i in relay_ids],
                                               stats, ordered=True)
            clients += relay_lawyers
            pairs = await matched_pairs(session, servers, relay_lawyers, relay_ids, stats)
            clients += [p.sender for p in pairs]
            await relay_and_overload(servers, pairs, args, stats, result)
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            server.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await delete_prefix(args.redis, prefix)
    return result


async def relay_and_overload(servers: Sequence[Server], pairs: Sequence[Pair],
                             args: argparse.Namespace, stats: Stats, result: Result) -> None:
    """The closed-loop relay, then 1.5x its rate for 10 s. With ``--client-processes`` > 1 the
    pairs are reconnected from that many client processes, so the client is never the
    bottleneck (its connections are closed here first)."""
    if args.client_processes > 1:
        specs = [p.spec for p in pairs]
        assert all(spec is not None for spec in specs)
        for pair in pairs:
            await pair.sender.close()
            await pair.receiver.close()

        async def run(seconds: float, rate_per_pair: float | None,
                      on_start: Callable[[], None]) -> RelayOutcome:
            return await relay_in_processes(specs, args.client_processes,  # type: ignore[arg-type]
                                            seconds, rate_per_pair, on_start)
    else:
        async def run(seconds: float, rate_per_pair: float | None,
                      on_start: Callable[[], None]) -> RelayOutcome:
            on_start()
            return await relay_phase(pairs, seconds, stats, rate_per_pair)

    cpu: list[float] = []
    relay = await run(args.relay_seconds, None,
                      lambda: cpu.append(sum(s.cpu_s() for s in servers)))
    result.relay_rate, result.lost = relay.rate, relay.lost
    result.relay_p99_ms = pct(relay.latencies, 0.99) * 1000
    result.cpu_ms_per_relay = ((sum(s.cpu_s() for s in servers) - cpu[0]) * 1000
                               / max(1, relay.delivered))
    before, refused = stats.disconnects, stats.refused
    over = await run(10.0, 1.5 * relay.rate / len(pairs), lambda: None)
    result.overload_lost, result.overload_recovery_s = over.lost, over.drained_s
    result.overload_disconnects = over.disconnects + stats.disconnects - before
    result.overload_refused = over.refused + stats.refused - refused


async def relay_in_processes(specs: Sequence[PairSpec], processes: int, seconds: float,
                             rate_per_pair: float | None, on_start: Callable[[], None]
                             ) -> RelayOutcome:
    """Run the relay from ``processes`` client processes, each with a share of the pairs;
    they start together (a barrier) once all are connected; ``on_start`` runs then."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    shares = [share for i in range(processes) if (share := list(specs[i::processes]))]
    barrier = context.Barrier(len(shares) + 1)
    results = context.Queue()
    children = [context.Process(target=relay_child,
                                args=(share, seconds, rate_per_pair, barrier, results))
                for share in shares]
    for child in children:
        child.start()
    await asyncio.to_thread(barrier.wait, 300)
    on_start()
    parts = [await asyncio.to_thread(results.get, True, 300) for _ in children]
    for child in children:
        await asyncio.to_thread(child.join, 60)
    return RelayOutcome.merge(parts)


def relay_child(specs: list[PairSpec], seconds: float, rate_per_pair: float | None,
                barrier: Any, results: Any) -> None:
    results.put(asyncio.run(_relay_child(specs, seconds, rate_per_pair, barrier)))


async def _relay_child(specs: list[PairSpec], seconds: float, rate_per_pair: float | None,
                       barrier: Any) -> RelayOutcome:
    stats = Stats()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        senders, _ = await open_many(session, [s.sender_url for s in specs],
                                     [s.sender_auth for s in specs], stats, ordered=True)
        receivers, _ = await open_many(session, [s.receiver_url for s in specs],
                                       [s.receiver_auth for s in specs], stats, ordered=True)
        pairs = [Pair(a, b, spec.room_id) for a, b, spec in zip(senders, receivers, specs,
                                                                  strict=True)]
        await asyncio.to_thread(barrier.wait, 300)
        outcome = await relay_phase(pairs, seconds, stats, rate_per_pair)
        for client in senders + receivers:
            await client.close()
    outcome.refused, outcome.disconnects = stats.refused, stats.disconnects
    return outcome


async def run_baseline(n_proc: int, args: argparse.Namespace, tmp: Path) -> Result:
    channel = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    servers: list[Server] = []
    clients: list[WireClient] = []
    result = Result()
    stats = Stats()
    try:
        servers = list(await asyncio.gather(*(
            start([sys.executable, "-m", "bench.load", "--baseline-server",
                   "--redis", args.redis if n_proc > 1 else "", "--channel", channel],
                  {}, tmp / f"baseline{n_proc}-{i}.log")
            for i in range(n_proc))))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            idle, result.mem_kib, result.connect_rate = await connections_phase(
                session, servers, args.connections, lambda i: {"room": f"idle{i}"}, stats)
            clients += idle
            senders, _ = await open_many(session, [servers[0].url],
                                         [{"room": f"pair{i}"} for i in range(args.pairs)], stats)
            receivers, _ = await open_many(session, [servers[-1].url],
                                           [{"room": f"pair{i}"} for i in range(args.pairs)], stats)
            clients += senders + receivers
            pairs = [Pair(s, r, f"pair{i}", "",
                          PairSpec(servers[0].url, {"room": f"pair{i}"}, servers[-1].url,
                                   {"room": f"pair{i}"}, f"pair{i}"))
                     for i, (s, r) in enumerate(zip(senders, receivers, strict=True))]
            await relay_and_overload(servers, pairs, args, stats, result)
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            server.stop()
    return result


async def statements(session: aiohttp.ClientSession, servers: Sequence[Server]
                     ) -> dict[str, float]:
    """SQL statements sent so far by verb, summed over the servers (from /metrics)."""
    total: dict[str, float] = {}
    for server in servers:
        async with session.get(server.url + "/metrics") as response:
            for line in (await response.text()).splitlines():
                if line.startswith("parley_db_statements_total{"):
                    verb = line.split('"')[1]
                    total[verb] = total.get(verb, 0.0) + float(line.rsplit(" ", 1)[1])
    return total


async def redis_calls(url: str) -> dict[str, int]:
    """Commands the Redis server has run so far, by name (``INFO commandstats``)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    stats = await redis.info("commandstats")
    await redis.aclose()
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


async def delete_prefix(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def report(n_proc: int, base: Result, parley: Result, args: argparse.Namespace) -> None:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    print(f"\n### {n_proc} process{'es' if n_proc > 1 else ''}: {args.connections} idle "
          f"connections held, {args.pairs} relay pairs, joins at "
          f"{', '.join(f'{r:g}' for r in args.rate)}/s for {args.seconds:g} s each")
    print("| measure | bare python-socketio | Parley | Parley / bare | target |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| memory per connection | {base.mem_kib:.1f} KiB | {parley.mem_kib:.1f} KiB | "
          f"{ratio(parley.mem_kib, base.mem_kib)} | <= 1.5 |")
    print(f"| connect rate | {base.connect_rate:,.0f} /s | {parley.connect_rate:,.0f} /s | "
          f"{ratio(parley.connect_rate, base.connect_rate)} | |")
    for rate, (p50, p99) in parley.offer_ms.items():
        print(f"| join -> offer p50 / p99 at {rate:g}/s | | {p50:.1f} / {p99:.1f} ms "
              f"| | p99 < 50 ms at 500/s |")
    for rate, (p50, p99) in parley.match_ms.items():
        print(f"| join -> matched (accepted) p50 / p99 at {rate:g}/s | | {p50:.1f} / {p99:.1f} ms"
              f" | | |")
    print(f"| server CPU per join (whole flow: intake, offer, accept, chat, end; all rates) | | "
          f"{parley.cpu_ms_per_join:.1f} ms | | |")
    print(f"| machine CPU per join (client, servers, PostgreSQL, Redis; {os.cpu_count()} cores) | | "
          f"{parley.machine_ms_per_join:.1f} ms | | |")
    per_join = ", ".join(f"{v} {n:.1f}" for v, n in sorted(parley.statements_per_join.items()))
    print(f"| SQL statements per join | | {per_join} | | |")
    if parley.redis_per_join:
        top = sorted(parley.redis_per_join.items(), key=lambda item: -item[1])[:6]
        print(f"| Redis commands per join (top: "
              f"{', '.join(f'{c} {n:.1f}' for c, n in top if n >= 0.05)}) | | "
              f"{sum(parley.redis_per_join.values()):.1f} | | |")
    print(f"| joins not served within 30 s (of them refused at intake) | | {parley.unserved} "
          f"({parley.join_failed}) | | 0 |")
    print(f"| relay rate (chat:send -> chat:message) | {base.relay_rate:,.0f} /s | "
          f"{parley.relay_rate:,.0f} /s | {ratio(parley.relay_rate, base.relay_rate)} | "
          f">= {0.7 if n_proc == 1 else 0.8} |")
    print(f"| server CPU per relayed message | {base.cpu_ms_per_relay:.2f} ms | "
          f"{parley.cpu_ms_per_relay:.2f} ms | {ratio(parley.cpu_ms_per_relay, base.cpu_ms_per_relay)}"
          f" | |")
    print(f"| relay p99 | {base.relay_p99_ms:.1f} ms | {parley.relay_p99_ms:.1f} ms | | |")
    print(f"| lost messages | {base.lost} | {parley.lost} | | 0 |")
    print(f"| 1.5x load for 10 s: disconnects | {base.overload_disconnects} | "
          f"{parley.overload_disconnects} | | 0 |")
    print(f"| 1.5x load: recovery (backlog drained) | {base.overload_recovery_s:.1f} s | "
          f"{parley.overload_recovery_s:.1f} s | | <= 5 s |")
    print(f"| 1.5x load: lost / refused (error ack) | {base.overload_lost} / "
          f"{base.overload_refused} | {parley.overload_lost} / {parley.overload_refused} | | 0 |")


async def main(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"parley-bench-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    print(f"logs in {tmp}; client CPU at start {time.process_time():.1f} s", flush=True)
    for n_proc in args.processes:
        base = await run_baseline(n_proc, args, tmp)
        parley = await run_parley(n_proc, args, tmp)
        report(n_proc, base, parley, args)
    print(f"\nclient process CPU: {time.process_time():.1f} s in total")


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rate", type=lambda s: sorted(float(x) for x in s.split(",")),
                        default=[500.0], help="joins per second; several (100,500) run in turn")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--relay-seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 2])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="client processes for the relay (1: all in this process)")
    parser.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--channel", default="bench", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def entry(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.baseline_server:
        baseline_server(int(os.environ["PARLEY_PORT"]), args.redis or None, args.channel)
        return
    asyncio.run(main(args))


if __name__ == "__main__":
    entry()
