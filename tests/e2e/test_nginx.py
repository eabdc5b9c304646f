"""The split roles behind real nginx, configured by docs/nginx.conf: two `parley serve --role
signaling` processes and media workers (`--role media`) sharing Redis and PostgreSQL.

(a) a signaling process SIGKILLed at the armed fault points (server/faults.py, the chain of
    test_faults.py): its clients come back through nginx from the same address, nginx sends them
    to the live process, and nothing is lost or doubled;
(b) a citizen and a lawyer in real Chromium through nginx (socket.io's long-polling, then the
    WebSocket upgrade) meet by video; the media worker hosting the call is killed with SIGKILL:
    video plays again within 10 s.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.clients import get_text
from tests.e2e.harness import free_port, start_server, wait_until
from tests.e2e.nginx import Nginx, start_nginx
from tests.e2e.test_cluster import Cluster, cluster, media_worker_killed_mid_call  # noqa: F401
from tests.e2e.test_faults import (
    FAST,
    STEPS,
    Deployment,
    Endpoint,
    Step,
    run_chain,
    timeline_counts,
)

# By default three kills through nginx (each costs a process start): the intake (nginx answers
# the dying POST with 502; the page's retry, same request_id, reaches the live process), the
# issue's accept, the end. test_faults.py kills at the offer and the transfer on Redis too.
# PARLEY_TEST_FAULT_POINTS=all: all 13.
# Access log lines (nginx's combined format) of socket.io's two transports through nginx.
UPGRADED = re.compile(r'"GET /socket\.io/\?[^"]*transport=websocket[^"]*" 101 ')
POLLING = re.compile(r'"(GET|POST) /socket\.io/\?[^"]*transport=polling[^"]*" 200 ')
NGINX_POINTS = {"intake.after_create", "accept.after_assign", "end.after_end"}


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[list[Nginx]]:
    """nginx processes the test starts (stopped afterwards)."""
    started: list[Nginx] = []
    try:
        yield started
    finally:
        for nginx in started:
            nginx.stop()


@dataclass
class BehindNginx(Deployment):
    """The fault chain's deployment with every client going through nginx. A client of the
    armed process connects from the address ip_hash sends to it; after the kill it comes back
    from the same address, and nginx must send it to the other process."""

    nginx: Nginx | None = None
    armed_source: str = ""
    steady_source: str = ""

    def at(self, which: str) -> Endpoint:
        assert self.nginx is not None
        if which == "steady":
            return Endpoint(self.nginx.url, self.steady_source)
        return Endpoint(self.nginx.url, self.armed_source)  # armed and, after the kill, survivor

    async def start_armed(self, point: str | None) -> None:
        await super().start_armed(point)
        assert self.nginx is not None and self.armed is not None
        if not self.armed_source:
            return
        # nginx took the killed process out for fail_timeout (5 s): wait until it sends the
        # armed address to the new life again.
        upstream = f"127.0.0.1:{self.armed_port}"

        async def routed() -> bool:
            assert self.nginx is not None
            return await self.nginx.upstream_of(self.armed_source) == upstream

        await wait_until(routed, 15, "nginx routing to the restarted process", interval=0.2)


def chosen() -> list[Step]:
    if os.environ.get("PARLEY_TEST_FAULT_POINTS") == "all":
        return list(STEPS)
    return [step for step in STEPS if step[0] in NGINX_POINTS]


async def test_signaling_killed_at_fault_points_behind_nginx(
        cluster: Cluster, front: list[Nginx]) -> None:  # noqa: F811 (the fixture)
    armed_port, other_port = free_port(), free_port()
    upstreams = [f"127.0.0.1:{armed_port}", f"127.0.0.1:{other_port}"]
    nginx = await start_nginx(cluster.tmp / "nginx", upstreams)
    front.append(nginx)
    env = {**cluster.env, **FAST, "PARLEY_PUBLIC_URL": nginx.url,
           "PARLEY_TRUSTED_PROXIES": "127.0.0.1/32"}
    (media,) = await cluster.start("media", start_s=120)
    async with timeline_counts(cluster) as counts:
        d = BehindNginx(cluster.tmp, env, counts, role="signaling", armed_port=armed_port,
                        nginx=nginx)
        try:
            d.other = await start_server(cluster.tmp / "other", env, ["--role", "signaling"],
                                         start_s=120, port=other_port)
            cluster.processes.append(d.other)
            await d.start_armed(None)  # unarmed, to find each process's client address
            sources = await nginx.sources(upstreams)
            d.armed_source, d.steady_source = sources[upstreams[0]], sources[upstreams[1]]
            assert d.armed is not None
            d.armed.stop()
            steps = chosen()
            await run_chain(d, steps)
            assert len(d.log) == len(steps)
            print("\n".join(d.log))
        except BaseException:
            print(nginx.log()[-4000:])
            raise
        finally:
            await d.close_clients()
            if d.armed is not None:
                d.armed.stop()
    # Through nginx the clients' sockets were WebSockets (the upgrade passed), and /metrics is
    # refused at the door (scraped on each process's own port).
    assert UPGRADED.search(nginx.log()), nginx.log()[-2000:]
    status, _ = await get_text(nginx.url, "/metrics")
    assert status == 403
    if any(point == "intake.after_create" for point, _, _ in steps):
        # The intake cut by the kill: nginx answered 502 (a POST already sent is not tried
        # elsewhere), and the page's retry from the same address reached the live process.
        intakes = re.findall(rf'^{re.escape(d.armed_source)} .*"POST /api/intake [^"]*" (\d+) ',
                             nginx.log(), re.MULTILINE)
        assert intakes[:2] == ["502", "200"], intakes
    assert media.process.poll() is None


async def test_media_worker_killed_mid_call_behind_nginx(
        cluster: Cluster, front: list[Nginx], browser: Browser) -> None:  # noqa: F811
    ports = [free_port(), free_port()]
    upstreams = [f"127.0.0.1:{p}" for p in ports]
    nginx = await start_nginx(cluster.tmp / "nginx", upstreams)
    front.append(nginx)
    cluster.env.update({"PARLEY_PUBLIC_URL": nginx.url, "PARLEY_TRUSTED_PROXIES": "127.0.0.1/32"})
    # Generous starts: the shared machine is often busy, and a start is not under test.
    s1, s2 = [await start_server(cluster.tmp / f"s{n}", cluster.env, ["--role", "signaling"],
                                 port=port, start_s=120) for n, port in enumerate(ports)]
    cluster.processes.extend([s1, s2])
    m1, m2 = await cluster.start("media", "media", start_s=120)
    s1.add_lawyer("lawyer1")
    try:
        await media_worker_killed_mid_call(cluster, browser, nginx.url, (m1, m2))
    except BaseException:
        print(nginx.log()[-4000:])
        raise
    # The pages spoke socket.io through nginx: long-polling first, then upgraded to WebSocket
    # (nginx logs a WebSocket when it closes: close the pages).
    for context in browser.contexts:
        await context.close()

    async def logged() -> bool:
        log = nginx.log()
        return bool(POLLING.search(log) and UPGRADED.search(log))

    await wait_until(logged, 10, "nginx's log of the pages' polling and upgraded sockets")
