"""Backend outages under a running service. Redis restarted for real: during the outage every
request fails at once with the retryable ``service_recovering`` code (never a hang, never a bare
500), waiting citizens are told the service is recovering, and it serves again within 10 s of
Redis's return, the queue rebuilt from the database in its order. PostgreSQL stopped (immediate
shutdown) and started again: the same, within 10 s of its return.

The Redis server and the PostgreSQL cluster here are this test's own (free ports, temporary
folders), never the machine's shared ones, which other developers' tests use.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.config import Settings
from signaling.app.factory import create_app
from tests.clients import SocketClient, intake_body, post_json
from tests.conftest import serving
from tests.e2e.harness import free_port, wait_until


@dataclass
class OwnRedis:
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis.from_url(self.url)

        async def up() -> bool:
            try:
                return bool(await client.ping())
            except Exception:  # refused until it listens
                return False

        try:
            await wait_until(up, 10, "the test's own redis-server")
        finally:
            await client.aclose()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing (the Makefile's apt list installs it)")
    redis = OwnRedis(free_port(), tmp_path)
    try:
        yield redis
    finally:
        if redis.process is not None and redis.process.poll() is None:
            redis.kill()


@pytest.fixture
async def served(own_redis: OwnRedis, tmp_path: Path) -> AsyncIterator[str]:
    await own_redis.start()
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                                  "REDIS_URL": own_redis.url, "PARLEY_RECONCILE_INTERVAL_S": "1"})
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_redis_restarted_for_real(own_redis: OwnRedis, served: str) -> None:
    url = served
    _, first = await post_json(url, "/api/intake", intake_body(name="先来"))
    citizen = SocketClient(url)
    await citizen.connect(first["token"])
    try:
        await citizen.wait_for("queue:update", lambda q: q["position"] == 1)

        own_redis.kill()  # a real restart: the process gone, its memory with it
        started = time.monotonic()
        body = intake_body(name="后到", request_id="k" * 32)
        status, refused = await post_json(url, "/api/intake", body)
        assert status == 503 and refused["error"]["code"] == "service_recovering", refused
        reply = await citizen.call("case:resume")
        assert reply["error"]["code"] == "service_recovering", reply
        assert time.monotonic() - started < 5, "a request hung during the outage"
        await citizen.wait_for("service:status", lambda s: s["state"] == "recovering")

        await own_redis.start()  # empty: nothing in Redis is the only copy
        back = time.monotonic()

        async def queue_again() -> bool:
            reply = await citizen.call("case:resume")
            return bool(reply.get("queue")) and reply["queue"]["position"] == 1

        await wait_until(queue_again, 10, "the queue served again after Redis came back")
        took = time.monotonic() - back
        await citizen.wait_for("service:status", lambda s: s["state"] == "ok", timeout=10)
        # The intake refused during the outage had reached the database: sent again with its
        # request_id it is the same case, second in the queue.
        status, again = await post_json(url, "/api/intake", body)
        assert status in (200, 201), again
        later = SocketClient(url)
        await later.connect(again["token"])
        try:
            async def second() -> bool:
                reply = await later.call("case:resume")
                return bool(reply.get("queue")) and reply["queue"]["position"] == 2

            await wait_until(second, 10, "the second citizen queued behind the first")
        finally:
            await later.close()
        print(f"served again {took:.1f} s after Redis came back")
        assert took < 10
    finally:
        await citizen.close()


PG_BIN = Path("/usr/lib/postgresql")


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of this test's own (initdb in a temporary folder, a free port)."""

    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        binary = next(PG_BIN.glob(f"*/bin/{tool}"))
        # initdb and pg_ctl refuse to run as root: as the postgres account then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, str(binary), *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-w", "-l",
                  str(self.folder / "log"), "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if not list(PG_BIN.glob("*/bin/initdb")):
        pytest.fail("PostgreSQL's initdb is missing (the Makefile's apt list installs it)")
    folder = Path(tempfile.mkdtemp(prefix="parley-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = OwnPostgres(free_port(), folder)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already
        shutil.rmtree(folder, ignore_errors=True)


async def test_postgres_unavailable_then_back(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                                  "DATABASE_URL": own_postgres.url,
                                  "PARLEY_RECONCILE_INTERVAL_S": "1"})
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    citizen = SocketClient(url)
    try:
        _, first = await post_json(url, "/api/intake", intake_body(name="先来"))
        await citizen.connect(first["token"])
        await citizen.wait_for("queue:update", lambda q: q["position"] == 1)

        own_postgres.stop()
        started = time.monotonic()
        status, refused = await post_json(url, "/api/intake", intake_body(name="后到"))
        assert status == 503 and refused["error"]["code"] == "service_recovering", refused
        reply = await citizen.call("case:resume")
        assert reply["error"]["code"] == "service_recovering", reply
        assert time.monotonic() - started < 5, "a request hung during the outage"
        await citizen.wait_for("service:status", lambda s: s["state"] == "recovering")

        own_postgres.start()
        back = time.monotonic()

        async def served() -> bool:
            status, _ = await post_json(url, "/api/intake", intake_body(name="又来"))
            reply = await citizen.call("case:resume")
            return status == 201 and bool(reply.get("queue")) and reply["queue"]["position"] == 1

        await wait_until(served, 10, "the service back after PostgreSQL returned", interval=0.3)
        took = time.monotonic() - back
        await citizen.wait_for("service:status", lambda s: s["state"] == "ok", timeout=10)
        print(f"served again {took:.1f} s after PostgreSQL came back")
        assert took < 10
    finally:
        await citizen.close()
        await server.close()


# --- long outages: 30 s as issue 20 asks (PARLEY_TEST_OUTAGE_S), 12 s in the suite by default ---

OUTAGE_S = float(os.environ.get("PARLEY_TEST_OUTAGE_S", "12"))
ROUND_S = 2.0  # how often the clients ask during the outage (pacing, not synchronisation)
# The longest a request may take to be answered during the outage. The refusal is immediate
# (the connection is refused, ``service_recovering`` at once); 3 s leaves room for a loaded
# machine while staying far below the 30 s an SQLAlchemy pool wait or a redis-py retry chain
# would take, and below the page's own retry period (``Retry-After: 2`` plus its backoff).
ANSWER_BOUND_S = 3.0


@dataclass
class Round:
    """One round of requests during the outage: each one's answer code and time."""

    codes: dict[str, str]
    slowest_s: float


async def timed(call: Any) -> tuple[str, float]:
    began = time.monotonic()
    status, body = await call
    took = time.monotonic() - began
    if status == "socket":
        code = "ok" if body.get("ok") or "error" not in body else body["error"]["code"]
    else:
        code = str(status) if "error" not in body else body["error"]["code"]
    return code, took


async def _intake(url: str, request_id: str) -> tuple[Any, Any]:
    return await post_json(url, "/api/intake", intake_body(name="断线时来", request_id=request_id))


async def _socket(client: SocketClient, event: str, data: Any = None) -> tuple[Any, Any]:
    return "socket", await client.call(event, data)


async def requests_through(url: str, citizen: SocketClient, lawyer: SocketClient,
                           outage_s: float) -> tuple[list[Round], list[str]]:
    """Every ``ROUND_S`` for ``outage_s``: an intake, the citizen's ``case:resume`` and the
    lawyer's ``agent:directory`` (it reads the live presence and the database). Returns the
    rounds and the intakes' request ids (sent again after the outage)."""
    rounds: list[Round] = []
    request_ids: list[str] = []
    began = time.monotonic()
    while time.monotonic() - began < outage_s:
        started = time.monotonic()
        request_ids.append(uuid.uuid4().hex)
        answers = await asyncio.gather(
            timed(_intake(url, request_ids[-1])), timed(_socket(citizen, "case:resume")),
            timed(_socket(lawyer, "agent:directory")))
        rounds.append(Round(dict(zip(("intake", "case:resume", "agent:directory"),
                                     (code for code, _ in answers), strict=True)),
                            max(took for _, took in answers)))
        await asyncio.sleep(max(0.0, ROUND_S - (time.monotonic() - started)))
    return rounds, request_ids


def assert_refused_promptly(rounds: list[Round], outage_s: float) -> None:
    assert len(rounds) >= outage_s / ROUND_S - 1, rounds
    for n, r in enumerate(rounds):
        assert r.slowest_s < ANSWER_BOUND_S, f"round {n}: answered after {r.slowest_s:.1f} s"
        assert r.codes["intake"] == "service_recovering", (n, r)
        assert r.codes["case:resume"] == "service_recovering", (n, r)
        # The lawyer's action: refused the same way, or answered if it needed no lost backend.
        assert r.codes["agent:directory"] in ("service_recovering", "ok"), (n, r)


async def back_within(url: str, citizen: SocketClient, lawyer: SocketClient,
                      first_case: str, request_ids: list[str]) -> tuple[float, bool]:
    """After the backend's return: seconds until an intake, the citizen's place and the lawyer
    are served again; then the case accepted before the outage is offered and accepted, and
    every intake tried during the outage, sent again, is one case (none doubled). Returns the
    seconds, and whether the citizen was told of the match by a push (else by resuming)."""
    back = time.monotonic()

    async def served() -> bool:
        status, _ = await post_json(url, "/api/intake", intake_body(name="恢复后"))
        resumed = await citizen.call("case:resume")
        directory = await lawyer.call("agent:directory")
        return (status == 201 and bool(resumed.get("queue"))
                and resumed["queue"]["position"] == 1 and "error" not in directory)

    await wait_until(served, 10, "the service back after the backend returned", interval=0.3)
    took = time.monotonic() - back
    await citizen.wait_for("service:status", lambda s: s["state"] == "ok", timeout=10)
    cases = set()
    for request_id in request_ids:
        status, again = await _intake(url, request_id)
        assert status in (200, 201), again
        cases.add(again["case_id"])
    assert len(cases) == len(request_ids), "an intake sent again made a second case"
    assert (await lawyer.call("agent:availability", {"status": "available"}))["ok"]
    await lawyer.wait_for("offer:new", lambda o: o["case"]["id"] == first_case, timeout=10)
    accepted = await lawyer.call("offer:accept", {"case_id": first_case})
    assert accepted.get("ok"), accepted

    # The citizen reaches the room: told (``case:matched``) or, as the page does on its next
    # resume, from ``case:resume``. A push in the first seconds after Redis's return can be
    # lost across processes (docs/deploy.md, "Backend outages"), never the assignment.
    async def in_room() -> bool:
        if citizen.events["case:matched"]:
            return True
        return bool((await citizen.call("case:resume")).get("room"))

    await wait_until(in_room, 10, "the citizen in the room", interval=0.5)
    return took, bool(citizen.events["case:matched"])


async def long_outage(settings: Settings, stop: Any, start: Any,
                      citizens_at: Settings | None = None) -> str:
    """The outage on the server of ``settings``; with ``citizens_at``, the citizen is on a
    second process of the same deployment, so what reaches them crosses processes."""
    async with serving(settings) as running, AsyncExitStack() as stack:
        other = await stack.enter_async_context(serving(citizens_at)) if citizens_at else running
        await running.add_lawyer("lawyer1")
        lawyer = SocketClient(running.url)
        citizen = SocketClient(other.url)
        try:
            await lawyer.connect(await running.login("lawyer1"))
            assert (await lawyer.call("agent:availability", {"status": "away"}))["ok"]
            first_case, token = await running.intake(name="先来")
            await citizen.connect(token)
            await citizen.wait_for("queue:update", lambda q: q["position"] == 1)

            await stop()
            rounds, request_ids = await requests_through(running.url, citizen, lawyer,
                                                         OUTAGE_S)
            await start()
            took, pushed = await back_within(running.url, citizen, lawyer, first_case,
                                             request_ids)
        finally:
            await citizen.close()
            await lawyer.close()
    assert_refused_promptly(rounds, OUTAGE_S)
    assert citizen.events["service:status"][0]["state"] == "recovering"
    directory = sorted({r.codes["agent:directory"] for r in rounds})
    note = (f"{OUTAGE_S:.0f} s outage: {len(rounds)} rounds, slowest answer "
            f"{max(r.slowest_s for r in rounds):.2f} s, lawyer's directory {directory}; "
            f"served again {took:.1f} s after the return; the match "
            f"{'pushed' if pushed else 'found by case:resume (push lost)'}")
    print(note, flush=True)
    assert took < 10
    return note


async def test_redis_unavailable_for_long(own_redis: OwnRedis, tmp_path: Path) -> None:
    """Two processes on the test's Redis and one database: the lawyer on one, the citizen on
    the other, so the pushes after the outage (the offer's ``case:matched``) cross Redis."""
    await own_redis.start()
    shared = {"REDIS_URL": own_redis.url, "PARLEY_RECONCILE_INTERVAL_S": "1",
              "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
              "PARLEY_SECRET_KEY": "o" * 40}
    first, second = (Settings.from_env({**shared, "PARLEY_DATA_DIR": str(tmp_path / name)})
                     for name in ("a", "b"))

    async def stop() -> None:
        own_redis.kill()

    await long_outage(first, stop, own_redis.start, citizens_at=second)


async def test_postgres_unavailable_for_long(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                                  "DATABASE_URL": own_postgres.url,
                                  "PARLEY_RECONCILE_INTERVAL_S": "1"})

    async def stop() -> None:  # off the loop: the server under test keeps answering
        await asyncio.to_thread(own_postgres.stop)

    async def start() -> None:
        await asyncio.to_thread(own_postgres.start)

    await long_outage(settings, stop, start)
