"""Real nginx in front of test processes, configured by the deployment's own file docs/nginx.conf.

The file is included as shipped, but for the lines it marks ``# deployment:`` (the upstream
addresses, the listening address, the certificate): so the config the docs give is the config the
tests run. nginx runs as this test's own process (``daemon off``, its prefix in a temporary
directory), never the system's service.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clients import session

CONF = Path(__file__).resolve().parents[2] / "docs" / "nginx.conf"
PORTS = range(9600, 9700)  # this suite's own range on the shared machine
UPSTREAM_HEADER = "X-Parley-Upstream"


def nginx_binary() -> str:
    """nginx's path; missing: a skip on a developer's machine, a failure under CI."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        message = "nginx is missing: `make install-test-system` installs Debian's nginx"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def port_in_range() -> int:
    """A free port of this suite's range, for nginx (the processes behind it take any free port)."""
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def render(conf: str, listen: str, upstreams: list[str]) -> str:
    """docs/nginx.conf with the test's addresses on its ``# deployment:`` lines (plain HTTP: the
    certificate lines go). Each marked line must be found as documented, or this fails."""
    out: list[str] = []
    servers = iter(upstreams)
    seen = {"signaling processes": 0, "listen": 0, "certificate": 0}
    for line in conf.splitlines():
        marker = re.search(r"# deployment: (.+)$", line)
        if marker is None:
            out.append(line)
            continue
        what = marker.group(1).strip()
        seen[what] += 1
        if what == "signaling processes":
            line, n = re.subn(r"server \S+", f"server {next(servers)}", line, count=1)
            assert n == 1, line
        elif what == "listen":
            line, n = re.subn(r"listen [^;]+;", f"listen {listen};", line, count=1)
            assert n == 1, line
        else:
            continue
        out.append(line)
    assert seen == {"signaling processes": len(upstreams), "listen": 1, "certificate": 2}, seen
    return "\n".join(out) + "\n"


def main_conf(prefix: Path, parley_conf: Path) -> str:
    """The process-wide part a host's /etc/nginx/nginx.conf would have, in ``prefix``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the temp dirs
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix / "access.log"};
{temp}
    # The test's only addition: which process answered (ip_hash decides; the test checks it).
    add_header {UPSTREAM_HEADER} $upstream_addr always;
    include {parley_conf};
}}
"""


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    prefix: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return "\n".join((self.prefix / name).read_text(errors="replace")
                         for name in ("error.log", "access.log") if (self.prefix / name).exists())

    async def upstream_of(self, source: str) -> str:
        """The process (``host:port``) nginx sends a client at ``source`` to; nginx's choice
        after a failed try lists both (``a, b``): the last one answered."""
        async with session(source) as http, http.get(self.url + "/healthz") as response:
            assert response.status == 200, await response.text()
            return response.headers[UPSTREAM_HEADER].split(",")[-1].strip()

    async def sources(self, upstreams: list[str]) -> dict[str, str]:
        """A client address that nginx's ip_hash sends to each upstream (ip_hash hashes the
        first three octets of IPv4: 127.0.N.1 are distinct clients, all on loopback)."""
        found: dict[str, str] = {}
        for n in range(1, 64):
            source = f"127.0.{n}.1"
            found.setdefault(await self.upstream_of(source), source)
            if set(found) >= set(upstreams):
                return {u: found[u] for u in upstreams}
        raise AssertionError(f"ip_hash sent no probe to some of {upstreams}: {found}")


async def start_nginx(prefix: Path, upstreams: list[str]) -> Nginx:
    binary = nginx_binary()
    prefix.mkdir(parents=True, exist_ok=True)
    port = port_in_range()
    parley_conf = prefix / "parley.conf"
    parley_conf.write_text(render(CONF.read_text(), f"127.0.0.1:{port}", upstreams))
    (prefix / "nginx.conf").write_text(main_conf(prefix, parley_conf))
    check = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                            "-e", str(prefix / "error.log")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-e", str(prefix / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = Nginx(f"http://127.0.0.1:{port}", process, prefix)
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {nginx.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return nginx
        except OSError:
            if time.monotonic() > deadline:
                nginx.stop()
                raise RuntimeError(f"nginx did not listen: {nginx.log()}") from None
            await asyncio.sleep(0.05)
