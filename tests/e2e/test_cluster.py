"""Several processes, one service: real server processes sharing one Redis (a key prefix of their
own, deleted afterwards) and one PostgreSQL database (created for the test, dropped afterwards).

(a) a citizen on process A and a lawyer on process B meet by video in real Chromium;
(b) a signaling process killed with SIGKILL: its clients reconnect to the other, waiting
    citizens keep their places, nobody is matched twice;
(c) the media worker hosting a call killed: the room moves, video plays again within 10 s (a
    consultation; a mediation, whose pages answer ``room:renegotiate`` through media_client.js);
(d) Redis loses the state mid-queue: the queue is rebuilt from the database in the same order.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.backends import POSTGRES_URL, REDIS_URL, unavailable
from tests.clients import SocketClient, intake_body, post_json
from tests.e2e.harness import (
    PASSWORD,
    ServerProcess,
    new_page,
    start_server,
    video_stats,
    wait_until,
    wait_video_playing,
)
from tests.e2e.test_consultation import consent_to_recording, sign_in, submit_intake
from tests.e2e.test_mediation import FRAMES_JS, join, open_room, playing, prepare_case

PG_DSN = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class Cluster:
    """Processes of one deployment; ``start`` adds one, ``kill`` sends SIGKILL."""

    tmp: Path
    env: dict[str, str]
    redis: Redis
    prefix: str
    processes: list[ServerProcess] = field(default_factory=list)

    async def start(self, *roles: str, start_s: float = 120) -> list[ServerProcess]:
        started = await asyncio.gather(*(
            start_server(self.tmp / f"p{len(self.processes) + i}", self.env, ["--role", role],
                         start_s=start_s)
            for i, role in enumerate(roles)))
        self.processes.extend(started)
        return list(started)

    def kill(self, process: ServerProcess) -> None:
        process.process.kill()
        process.process.wait(timeout=10)

    async def keys(self) -> list[bytes]:
        return [k async for k in self.redis.scan_iter(match=f"{self.prefix}:*")]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except (OSError, RedisConnectionError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    try:
        admin = await asyncpg.connect(PG_DSN)
    except OSError as exc:
        await redis.aclose()
        unavailable("PostgreSQL", exc)
    name = f"parley_cluster_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "PARLEY_REDIS_PREFIX": prefix,
           "PARLEY_SECRET_KEY": secrets.token_urlsafe(32), "PARLEY_ICE_ALLOW_PRIVATE": "true"}
    cluster = Cluster(tmp_path, env, redis, prefix)
    # The schema once, before processes start (they would otherwise race to create it).
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "parley"), "db", "upgrade",
        env={**os.environ, **env, "PARLEY_DATA_DIR": str(tmp_path / "cli")})
    assert await proc.wait() == 0
    try:
        yield cluster
    finally:
        for process in cluster.processes:
            process.stop()
        keys = await cluster.keys()
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def accept_offer(page: Page) -> None:
    await expect(page.get_by_test_id("offer-panel")).to_be_visible(timeout=15_000)
    await page.get_by_test_id("offer-accept").click()


async def test_citizen_on_one_process_meets_lawyer_on_another(cluster: Cluster,
                                                              browser: Browser) -> None:
    a, b = await cluster.start("all", "all")
    b.add_lawyer("lawyer1")
    _, citizen = await new_page(browser, a.url)
    _, lawyer = await new_page(browser, b.url)

    await submit_intake(citizen)
    await sign_in(lawyer, "lawyer1")
    await accept_offer(lawyer)
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)
    await consent_to_recording(citizen, lawyer)

    await citizen.get_by_test_id("chat-input").fill("跨进程的消息")
    await citizen.get_by_test_id("chat-send").click()
    await expect(lawyer.get_by_test_id("chat-log")).to_contain_text("跨进程的消息")
    await citizen.get_by_test_id("hangup").click()
    await lawyer.get_by_test_id("case-outcome").select_option("answered")
    await lawyer.get_by_test_id("end-case").click()
    await expect(citizen.get_by_test_id("rating-submit")).to_be_visible()
    # Ending the case closed the room on its worker, wherever it was.
    async def closed() -> bool:
        return not await cluster.redis.hkeys(f"{cluster.prefix}:media:room_worker")

    await wait_until(closed, 10, "the room closed on its worker")


@dataclass
class Citizen:
    case_id: str
    token: str
    client: SocketClient


async def test_killed_signaling_process_loses_nobody_and_matches_nobody_twice(
        cluster: Cluster) -> None:
    a, b = await cluster.start("all", "all")
    a.add_lawyer("lawyer1")
    a.add_lawyer("lawyer2")
    clients: list[SocketClient] = []

    async def connect(url: str, token: str) -> SocketClient:
        client = SocketClient(url)
        await client.connect(token)
        clients.append(client)
        return client

    try:
        citizens = []
        for n in range(3):
            status, body = await post_json(a.url, "/api/intake", intake_body(name=f"群众{n}"))
            assert status == 201, body
            client = await connect(a.url if n < 2 else b.url, body["token"])
            citizens.append(Citizen(body["case_id"], body["token"], client))
        # lawyer1 on A gets the first citizen's offer and does not answer before A dies.
        token1 = await _login(a.url, "lawyer1")
        lawyer1 = await connect(a.url, token1)
        offer = await lawyer1.wait_for("offer:new")
        assert offer["case"]["id"] == citizens[0].case_id

        cluster.kill(a)
        # Everyone who was on A reconnects to B with the same token.
        lawyer1 = await connect(b.url, token1)
        for citizen in citizens[:2]:
            citizen.client = await connect(b.url, citizen.token)
        for place, citizen in enumerate(citizens, start=1):
            resumed = await citizen.client.call("case:resume")
            assert resumed["queue"]["position"] == place, resumed

        resumed = await lawyer1.call("agent:resume")
        assert resumed["offer"]["case"]["id"] == citizens[0].case_id
        accepted = await lawyer1.call("offer:accept", {"case_id": citizens[0].case_id})
        assert accepted.get("ok"), accepted
        lawyer2 = await connect(b.url, await _login(b.url, "lawyer2"))
        offer = await lawyer2.wait_for("offer:new")
        assert offer["case"]["id"] == citizens[1].case_id
        assert (await lawyer2.call("offer:accept", {"case_id": citizens[1].case_id}))["ok"]

        await citizens[0].client.wait_for("case:matched")
        await citizens[1].client.wait_for("case:matched")
        await citizens[2].client.wait_for("queue:update", lambda q: q["position"] == 1)
        # Nobody matched twice: one match each, no offer of a served case to anybody.
        await asyncio.sleep(1.5)  # a tick or so for any stray offer to show up
        for citizen in citizens[:2]:
            assert len(citizen.client.events["case:matched"]) == 1
        assert citizens[2].client.events["case:matched"] == []
        served = {citizens[0].case_id, citizens[1].case_id}
        for lawyer in (lawyer1, lawyer2):
            offered = [o["case"]["id"] for o in lawyer.events["offer:new"]]
            assert len(offered) == len(set(offered))
            assert all(case == citizens[0].case_id for case in offered) or lawyer is lawyer2
        assert [o["case"]["id"] for o in lawyer2.events["offer:new"]] == [citizens[1].case_id]
        assert served == {c.case_id for c in citizens[:2]}
    finally:
        for client in clients:
            if client.sio.connected:
                await client.close()


async def test_killed_media_worker_moves_the_room_and_video_resumes(
        cluster: Cluster, browser: Browser) -> None:
    (signaling,) = await cluster.start("signaling")
    m1, m2 = await cluster.start("media", "media")
    signaling.add_lawyer("lawyer1")
    await media_worker_killed_mid_call(cluster, browser, signaling.url, (m1, m2))


async def media_worker_killed_mid_call(cluster: Cluster, browser: Browser, url: str,
                                       workers: tuple[ServerProcess, ServerProcess]) -> None:
    """A citizen and lawyer1 meet by video on the pages at ``url``; the worker of ``workers``
    hosting their room is killed with SIGKILL: the video plays again within 10 s."""
    m1, m2 = workers
    _, citizen = await new_page(browser, url)
    _, lawyer = await new_page(browser, url)
    await submit_intake(citizen)
    await sign_in(lawyer, "lawyer1")
    await accept_offer(lawyer)
    await wait_video_playing(citizen)
    await wait_video_playing(lawyer)

    rooms = {m.url: (await _metrics(m.url))["parley_media_rooms"] for m in (m1, m2)}
    host, other = (m1, m2) if rooms[m1.url] == 1 else (m2, m1)
    assert rooms[host.url] == 1 and rooms[other.url] == 0
    before = {page: (await video_stats(page))["framesDecoded"] for page in (citizen, lawyer)}
    killed_at = time.monotonic()
    cluster.kill(host)

    async def resumed(page: Page) -> float:
        # A new peer connection (the old one's counters are gone) decoding frames again.
        async def playing() -> Any:
            s = await video_stats(page)
            return s["state"] == "connected" and s["framesDecoded"] > 10 and (
                s["framesDecoded"] < before[page] or s["framesDecoded"] > before[page] + 200)

        await wait_until(playing, 15, "video again after the worker died", interval=0.2)
        return time.monotonic() - killed_at

    took = await asyncio.gather(resumed(citizen), resumed(lawyer))
    print(f"video resumed {took[0]:.1f} s / {took[1]:.1f} s after the worker was killed")
    assert (await _metrics(other.url))["parley_media_rooms"] == 1
    assert max(took) < 10, f"video resumed after {took} s"


# The page's current peer connection is a new one (marked old before the kill), connected, and
# decoding the given participant's video.
RESUMED_JS = """() => { const m = window.parleyMediation;
  return Boolean(m && m.pc && !m.pc.parleyOld && m.pc.connectionState === 'connected'); }"""


async def test_killed_media_worker_moves_a_mediation_room_and_its_pages_offer_again(
        cluster: Cluster, browser: Browser) -> None:
    (signaling,) = await cluster.start("signaling")
    m1, m2 = await cluster.start("media", "media")
    case_id, invites = await prepare_case(signaling)
    app_id = invites["applicant"]["participant"]["id"]
    _, mediator = await new_page(browser, signaling.url)
    _, applicant = await new_page(browser, signaling.url)
    await open_room(mediator, case_id)
    await join(applicant, invites["applicant"])
    await mediator.get_by_test_id(f"admit-{app_id}").click()
    tile = applicant.locator('[data-testid^="remote-video-"]')
    await expect(tile).to_have_count(1)
    mediator_id = str(await tile.get_attribute("data-testid")).removeprefix("remote-video-")
    await asyncio.gather(playing(mediator, [app_id]), playing(applicant, [mediator_id]))

    rooms = {m.url: (await _metrics(m.url))["parley_media_rooms"] for m in (m1, m2)}
    host, other = (m1, m2) if rooms[m1.url] == 1 else (m2, m1)
    assert rooms[host.url] == 1 and rooms[other.url] == 0
    for page in (mediator, applicant):
        await page.evaluate("() => { window.parleyMediation.pc.parleyOld = true; }")
    killed_at = time.monotonic()
    cluster.kill(host)

    async def resumed(page: Page, remote: str) -> float:
        async def decoding() -> bool:
            fresh = await page.evaluate(RESUMED_JS)
            return bool(fresh) and (await page.evaluate(FRAMES_JS)).get(remote, 0) > 10

        await wait_until(decoding, 15, f"video of {remote} again after the worker died",
                         interval=0.2)
        return time.monotonic() - killed_at

    took = await asyncio.gather(resumed(mediator, app_id), resumed(applicant, mediator_id))
    print(f"mediation video resumed {took[0]:.1f} s / {took[1]:.1f} s after the worker was killed")
    assert (await _metrics(other.url))["parley_media_rooms"] == 1
    assert max(took) < 10, f"video resumed after {took} s"


async def test_lost_redis_state_is_rebuilt_in_the_same_order(cluster: Cluster) -> None:
    a, b = await cluster.start("all", "all")
    a.add_lawyer("lawyer1")
    clients: list[SocketClient] = []
    try:
        citizens = []
        for n, priority in enumerate([{}, {"elderly": True}, {}, {}]):
            status, body = await post_json((a, b)[n % 2].url, "/api/intake",
                                           intake_body(name=f"群众{n}", **priority))
            assert status == 201, body
            client = SocketClient(a.url)
            await client.connect(body["token"])
            clients.append(client)
            citizens.append(Citizen(body["case_id"], body["token"], client))
        order = [await _position(c) for c in citizens]
        assert sorted(order) == [1, 2, 3, 4] and order[1] == 1  # the elderly citizen first

        await cluster.redis.delete(*await cluster.keys())  # Redis lost everything of ours

        async def rebuilt() -> bool:
            return [await _position(c) for c in citizens] == order

        started = time.monotonic()
        await wait_until(rebuilt, 10, "the queue rebuilt in the same order", interval=0.3)
        print(f"queue rebuilt {time.monotonic() - started:.1f} s after Redis lost it")
        lawyer = SocketClient(b.url)
        await lawyer.connect(await _login(b.url, "lawyer1"))
        clients.append(lawyer)
        offer = await lawyer.wait_for("offer:new")
        assert offer["case"]["id"] == citizens[1].case_id
        accepted = await lawyer.call("offer:accept", {"case_id": citizens[1].case_id})
        assert accepted.get("ok"), accepted
        await citizens[1].client.wait_for("case:matched")
    finally:
        for client in clients:
            await client.close()


async def _position(citizen: Citizen) -> int | None:
    resumed = await citizen.client.call("case:resume")
    queue = resumed.get("queue")
    return queue["position"] if queue else None


async def _login(url: str, username: str) -> str:
    status, body = await post_json(url, "/api/login", {"username": username, "password": PASSWORD})
    assert status == 200, body
    token: str = body["token"]
    return token


async def _metrics(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}

