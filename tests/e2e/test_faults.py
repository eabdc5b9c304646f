"""A `parley serve` process SIGKILLed at each step of intake, offer, accept, transfer and end.

The process is armed with one fault point (``PARLEY_FAULT_POINT``, server/faults.py) and kills
itself when it reaches it: deterministic, no timer raced. After each kill the deployment goes on
(the memory backend: the one process started again on its SQLite file; Redis and PostgreSQL:
the other process carries on and the killed one is started again), and the test checks over
the real socket protocol that nothing was lost, nothing doubled, and that the citizen and the
lawyers can all continue. One process life per point: the restarted process is armed with the
next point, so the whole chain costs one start per point.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.clients import SocketClient, intake_body, post_json
from tests.e2e.harness import PASSWORD, ServerProcess, start_server, wait_until
from tests.e2e.test_cluster import PG_DSN, Cluster, cluster  # noqa: F401 (the fixture)

# Fast healing and no wrap-up, so that each check sees the repair within a second or two.
FAST = {"PARLEY_RECONCILE_INTERVAL_S": "0.5", "PARLEY_WRAP_UP_S": "0",
        "PARLEY_OFFER_TIMEOUT_S": "60"}


@dataclass(frozen=True)
class Endpoint:
    """Where a client connects: a URL and the local address it leaves from (None: any)."""

    url: str
    source: str | None = None


@dataclass
class Deployment:
    """The processes of one backend: ``armed`` (killed at each point, then started again)
    and, on Redis/PostgreSQL, ``other`` (never armed: it carries on while ``armed`` is dead)."""

    tmp: Path
    env: dict[str, str]
    counts: Callable[[str], Awaitable[dict[str, int]]]  # case id -> events by kind
    armed: ServerProcess | None = None
    other: ServerProcess | None = None
    clients: list[SocketClient] = field(default_factory=list)
    lives: int = 0
    log: list[str] = field(default_factory=list)
    role: str = "all"  # of the armed and the other process
    armed_port: int | None = None  # the armed process's port in every life (None: a free one)

    async def start_armed(self, point: str | None) -> None:
        self.lives += 1
        env = {**self.env, **({"PARLEY_FAULT_POINT": point} if point else {})}
        # Generous: a start is slow when the shared machine is busy, and it is not under test.
        self.armed = await start_server(self.data_dir(), env, ["--role", self.role], start_s=120,
                                        port=self.armed_port)

    def data_dir(self) -> Path:
        # The memory backend keeps its SQLite file (and secret key) across lives.
        return self.tmp / ("armed" if "DATABASE_URL" not in self.env else f"armed{self.lives}")

    def at(self, which: str) -> Endpoint:
        """Where clients connect: to ``armed`` (the process to be killed), ``steady`` (what
        outlives the kill) or ``survivor`` (where a client of the dead process reconnects).
        Here, straight to the process; behind nginx (test_nginx.py), through it."""
        process = {"armed": self.armed, "steady": self.steady, "survivor": self.survivor}[which]
        assert process is not None
        return Endpoint(process.url)

    @property
    def survivor(self) -> ServerProcess:
        """Where a client whose process died reconnects (memory: the process started again)."""
        assert self.armed is not None
        return self.other or self.armed

    @property
    def steady(self) -> ServerProcess:
        """Where clients that must outlive the kill connect (the other process, if any)."""
        assert self.armed is not None
        return self.other or self.armed

    async def client(self, at: Endpoint, token: str) -> SocketClient:
        client = SocketClient(at.url, at.source)
        await client.connect(token)
        self.clients.append(client)
        return client

    async def close_clients(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients.clear()

    async def died(self) -> None:
        """The armed process killed itself at its point (SIGKILL, nothing else)."""
        assert self.armed is not None
        process = self.armed.process

        async def gone() -> bool:
            return process.poll() is not None

        await wait_until(gone, 20, "the armed process to reach its fault point")
        assert process.returncode == -signal.SIGKILL, self.armed.log()[-3000:]


async def login(at: Endpoint, username: str) -> str:
    status, body = await post_json(at.url, "/api/login",
                                   {"username": username, "password": PASSWORD}, source=at.source)
    assert status == 200, body
    token: str = body["token"]
    return token


async def intake(at: Endpoint, **overrides: Any) -> tuple[str, str]:
    status, body = await post_json(at.url, "/api/intake", intake_body(**overrides),
                                   source=at.source)
    assert status == 201, body
    return body["case_id"], body["token"]


@dataclass
class Flow:
    """One consultation across the kill: its citizen and the lawyers' tokens."""

    d: Deployment
    tokens: dict[str, str]
    case_id: str = ""
    citizen_token: str = ""
    citizen: SocketClient | None = None
    lawyers: list[SocketClient] = field(default_factory=list)

    async def new_citizen(self, at: Endpoint, mode: str = "text") -> SocketClient:
        self.case_id, self.citizen_token = await intake(at, mode=mode,
                                                        name=f"群众{uuid.uuid4().hex[:4]}")
        self.citizen = await self.d.client(at, self.citizen_token)
        return self.citizen

    async def lawyer(self, at: Endpoint, name: str) -> SocketClient:
        """``name`` connected at ``at`` and available (which routes on that process)."""
        lawyer = await self.d.client(at, self.tokens[name])
        self.lawyers.append(lawyer)
        reply = await lawyer.call("agent:availability", {"status": "available"})
        assert reply.get("ok"), reply
        return lawyer

    async def finish(self) -> None:
        """Lawyers away before they leave, so that no process offers them the next step's
        case while their sign-out grace runs (the next step decides where offers are made)."""
        for lawyer in self.lawyers:
            if lawyer.sio.connected:
                await lawyer.call("agent:availability", {"status": "away"})

    async def offer(self, lawyer: SocketClient) -> dict[str, Any]:
        """The offer of this flow's case: in agent:resume (still in flight) or pushed."""
        resumed = await lawyer.call("agent:resume")
        if resumed.get("offer") and resumed["offer"]["case"]["id"] == self.case_id:
            return dict(resumed["offer"])
        offer: dict[str, Any] = await lawyer.wait_for(
            "offer:new", lambda o: o["case"]["id"] == self.case_id, timeout=15)
        return offer

    async def accepted(self, lawyer: SocketClient) -> dict[str, Any]:
        await self.offer(lawyer)
        reply = await lawyer.call("offer:accept", {"case_id": self.case_id})
        assert reply.get("ok"), reply
        return reply

    async def citizen_again(self) -> SocketClient:
        """The citizen's socket, reconnected to the survivor if its process died."""
        assert self.citizen is not None
        if not self.citizen.sio.connected:
            self.citizen = await self.d.client(self.d.at("survivor"), self.citizen_token)
        return self.citizen

    async def talk(self, lawyer: SocketClient) -> str:
        """Both sides reach the same room: a message each way. Returns the room id."""
        citizen = await self.citizen_again()

        async def in_room() -> Any:
            resumed = await citizen.call("case:resume")
            return resumed if resumed.get("room") else None

        resumed = await wait_until(in_room, 10, "the citizen back in the room")
        room_id: str = resumed["room"]["room_id"]
        mine = await lawyer.call("agent:resume")
        assert mine["case"]["id"] == self.case_id and mine["room"]["room_id"] == room_id, mine
        text = f"还在吗 {uuid.uuid4().hex[:6]}"
        assert (await citizen.call("chat:send", {"room_id": room_id, "text": text}))["ok"]
        await lawyer.wait_for("chat:message", lambda m: m["text"] == text)
        reply = f"在的 {uuid.uuid4().hex[:6]}"
        assert (await lawyer.call("chat:send", {"room_id": room_id, "text": reply}))["ok"]
        await citizen.wait_for("chat:message", lambda m: m["text"] == reply)
        return room_id

    async def end(self, lawyer: SocketClient) -> None:
        reply = await lawyer.call("case:end", {"case_id": self.case_id, "outcome": "answered"})
        assert reply.get("ok"), reply
        await (await self.citizen_again()).wait_for("case:ended")

    async def waiting_first(self) -> None:
        citizen = await self.citizen_again()

        async def first() -> Any:
            queue = (await citizen.call("case:resume")).get("queue")
            return queue if queue and queue["position"] == 1 else None

        await wait_until(first, 10, "the citizen waiting first in the queue")

    async def once(self, kind: str, times: int = 1) -> None:
        """Nothing doubled in the timeline: ``kind`` (matched, ended...) exactly ``times``."""
        counts = await self.d.counts(self.case_id)
        assert counts.get(kind, 0) == times, counts


# --- the steps: drive (ends with the armed process dead) and check (on what carries on) ---

async def drive_offer(f: Flow) -> None:
    # The case waits first (no lawyer online), then lawyer1 signs in where the fault is armed:
    # that process claims the offer on the lawyer's sign-in.
    assert f.d.armed is not None
    await f.new_citizen(f.d.at("steady"))
    armed = f.d.at("armed")
    lawyer = SocketClient(armed.url, armed.source)
    f.d.clients.append(lawyer)
    try:
        await lawyer.connect(f.tokens["lawyer1"])  # signs in (a restarted memory process)
        await lawyer.sio.emit("agent:availability", {"status": "available"})  # or becomes free
    except Exception:  # socketio.exceptions.ConnectionError: it died during the sign-in
        pass
    await f.d.died()


async def check_offer(f: Flow) -> None:
    await f.waiting_first()  # never lost its place
    lawyer = await f.lawyer(f.d.at("survivor"), "lawyer1")
    await f.accepted(lawyer)
    await f.talk(lawyer)
    await f.once("matched")
    await f.end(lawyer)


async def drive_accept(f: Flow) -> None:
    assert f.d.armed is not None
    lawyer = await f.lawyer(f.d.at("armed"), "lawyer1")
    await f.new_citizen(f.d.at("steady"), mode="video")
    await f.offer(lawyer)
    await lawyer.sio.emit("offer:accept", {"case_id": f.case_id})  # dies before it answers
    await f.d.died()


async def check_accept(f: Flow) -> None:
    lawyer = await f.lawyer(f.d.at("survivor"), "lawyer1")
    # Assigned once, in one room both sides reach; the media room is hosted again.
    await f.talk(lawyer)
    await f.once("matched")

    async def hosted() -> bool:
        return (await metrics(f.d.survivor.url)).get("parley_media_rooms", 0) >= 1

    await wait_until(hosted, 10, "the consultation's media room hosted by a live worker")
    await f.end(lawyer)


async def drive_transfer(f: Flow) -> None:
    assert f.d.armed is not None
    lawyer = await f.lawyer(f.d.at("armed"), "lawyer1")
    await f.new_citizen(f.d.at("steady"))
    await f.accepted(lawyer)
    directory = await lawyer.call("agent:directory")
    second = next(x["id"] for x in directory["lawyers"] if x["display_name"] == "lawyer2 律师")
    await lawyer.sio.emit("case:transfer", {"case_id": f.case_id, "agent_id": second,
                                            "note": "请婚姻家事律师接手"})
    await f.d.died()


async def check_transfer(f: Flow) -> None:
    await f.waiting_first()  # back at its place
    second = await f.lawyer(f.d.at("survivor"), "lawyer2")
    await f.accepted(second)
    await f.talk(second)
    await f.once("matched", 2)  # lawyer1's, then lawyer2's: no third
    await f.once("transferred")
    first = await f.lawyer(f.d.at("survivor"), "lawyer1")
    resumed = await first.call("agent:resume")
    assert resumed["case"] is None and resumed["offer"] is None, resumed
    await f.end(second)


async def drive_end(f: Flow) -> None:
    assert f.d.armed is not None
    lawyer = await f.lawyer(f.d.at("armed"), "lawyer1")
    await f.new_citizen(f.d.at("steady"))
    await f.accepted(lawyer)
    await lawyer.sio.emit("case:end", {"case_id": f.case_id, "outcome": "answered"})
    await f.d.died()


async def check_end(f: Flow) -> None:
    citizen = await f.citizen_again()

    async def ended() -> bool:
        return bool(citizen.events["case:ended"]) or (
            (await citizen.call("case:resume"))["case"]["status"] == "ended")

    await wait_until(ended, 10, "the citizen told the consultation ended")
    await f.once("ended")
    lawyer = await f.lawyer(f.d.at("survivor"), "lawyer1")

    async def free() -> Any:
        resumed = await lawyer.call("agent:resume")
        return resumed if resumed["case"] is None and resumed["status"] == "available" else None

    await wait_until(free, 10, "the lawyer free again")
    # ... and served the next citizen.
    await f.new_citizen(f.d.at("steady"))
    await f.accepted(lawyer)
    await f.end(lawyer)


async def drive_intake(f: Flow) -> None:
    assert f.d.armed is not None
    f.citizen_token = uuid.uuid4().hex  # here: the intake's request_id, sent again below
    with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
        armed = f.d.at("armed")
        await post_json(armed.url, "/api/intake",
                        intake_body(mode="text", request_id=f.citizen_token), source=armed.source)
    await f.d.died()


async def check_intake(f: Flow) -> None:
    # The page sends the intake again with its request_id: the same case, at its place.
    survivor = f.d.at("survivor")
    status, body = await post_json(survivor.url, "/api/intake",
                                   intake_body(mode="text", request_id=f.citizen_token),
                                   source=survivor.source)
    assert status == 200, body  # not 201: no second case
    f.case_id, f.citizen_token = body["case_id"], body["token"]
    f.citizen = await f.d.client(survivor, f.citizen_token)
    await f.waiting_first()
    lawyer = await f.lawyer(f.d.at("survivor"), "lawyer1")
    await f.accepted(lawyer)
    await f.talk(lawyer)
    await f.once("matched")
    await f.once("intake")
    await f.end(lawyer)


Step = tuple[str, Callable[[Flow], Awaitable[None]], Callable[[Flow], Awaitable[None]]]
STEPS: list[Step] = [
    ("intake.after_create", drive_intake, check_intake),
    ("intake.after_join", drive_intake, check_intake),
    ("offer.after_claim", drive_offer, check_offer),
    ("offer.after_push", drive_offer, check_offer),
    ("accept.after_assign", drive_accept, check_accept),
    ("accept.after_announce", drive_accept, check_accept),
    ("accept.after_settle", drive_accept, check_accept),
    ("transfer.after_requeue", drive_transfer, check_transfer),
    ("transfer.after_announce", drive_transfer, check_transfer),
    ("transfer.after_settle", drive_transfer, check_transfer),
    ("end.after_end", drive_end, check_end),
    ("end.after_announce", drive_end, check_end),
    ("end.after_settle", drive_end, check_end),
]
# The suite's default, to keep its time modest (a kill costs a process start or two): each step
# once across the two backends, the accept on both. PARLEY_TEST_FAULT_POINTS=all runs
# all 13 on each (about 20-35 s a point on this shared machine, most of it starting processes).
MEMORY_POINTS = {"intake.after_create", "accept.after_assign", "end.after_end"}
CLUSTER_POINTS = {"offer.after_claim", "accept.after_assign", "transfer.after_requeue"}


def chosen_steps(default: set[str]) -> list[Step]:
    if os.environ.get("PARLEY_TEST_FAULT_POINTS") == "all":
        return STEPS
    return [step for step in STEPS if step[0] in default]


def two_lawyers(process: ServerProcess) -> None:
    process.add_lawyer("lawyer1")
    process.add_lawyer("lawyer2")


async def run_chain(d: Deployment, steps: list[Step]) -> None:
    """For each step: start the armed process, drive until it kills itself, let the deployment
    carry on (memory: the process starts again, unarmed; Redis: the other process, alone, so
    that no armed process acts on the check's own offers), check, tidy up."""
    tokens: dict[str, str] = {}
    for point, drive, check in steps:
        began = time.monotonic()
        await d.start_armed(point)
        started = time.monotonic()
        assert d.armed is not None
        if not tokens:
            two_lawyers(d.armed)
            tokens = {name: await login(d.at("armed"), name) for name in ("lawyer1", "lawyer2")}
        flow = Flow(d, tokens)
        await drive(flow)
        killed = time.monotonic()
        if d.other is None:
            await d.start_armed(None)
        checking = time.monotonic()
        try:
            await check(flow)
        except BaseException:
            print(f"after the kill at {point}:\n{d.survivor.log()[-4000:]}")
            raise
        d.log.append(f"{point}: SIGKILL at the point, then checked (start {started - began:.1f} s, "
                     f"drive {killed - started:.1f} s, check {time.monotonic() - checking:.1f} s)")
        print(d.log[-1], flush=True)
        await flow.finish()
        await d.close_clients()
        if d.other is None:  # the database has it all: no graceful stop to wait for
            d.armed.process.kill()
            d.armed.process.wait()


async def metrics(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        text = await response.text()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[Deployment]:
    db = tmp_path / "armed" / "parley.db"

    async def counts(case_id: str) -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT kind, count(*) FROM case_events WHERE case_id = ? "
                                "GROUP BY kind", (case_id,)).fetchall()
        return {kind: n for kind, n in rows}

    d = Deployment(tmp_path, {**FAST, "PARLEY_SECRET_KEY": "s" * 40}, counts)
    try:
        yield d
    finally:
        await d.close_clients()
        if d.armed is not None:
            d.armed.stop()


async def test_memory_backend_survives_a_kill_at_every_step(memory: Deployment) -> None:
    await run_chain(memory, chosen_steps(MEMORY_POINTS))
    assert len(memory.log) == len(chosen_steps(MEMORY_POINTS))


@asynccontextmanager
async def timeline_counts(of: Cluster) -> AsyncIterator[Callable[[str], Awaitable[dict[str, int]]]]:
    """Events by kind of a case, read from the cluster's PostgreSQL database."""
    admin = await asyncpg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + of.env["DATABASE_URL"]
                                  .rsplit("/", 1)[1])

    async def counts(case_id: str) -> dict[str, int]:
        rows = await admin.fetch("SELECT kind, count(*) AS n FROM case_events WHERE case_id = $1 "
                                 "GROUP BY kind", case_id)
        return {r["kind"]: r["n"] for r in rows}

    try:
        yield counts
    finally:
        await admin.close()


async def test_redis_postgres_survive_a_kill_at_every_step(
        cluster: Cluster) -> None:  # noqa: F811 (the fixture)
    async with timeline_counts(cluster) as counts:
        d = Deployment(cluster.tmp, {**cluster.env, **FAST}, counts)
        try:
            d.other = await start_server(cluster.tmp / "other", d.env, ["--role", "all"],
                                         start_s=120)
            cluster.processes.append(d.other)
            await run_chain(d, chosen_steps(CLUSTER_POINTS))
            assert len(d.log) == len(chosen_steps(CLUSTER_POINTS))
        finally:
            await d.close_clients()
            if d.armed is not None:
                d.armed.stop()
