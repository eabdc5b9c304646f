"""Running Debian's SIPp (sip-tester) against the product, and waiting on conditions."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).parent
# Each pytest-xdist worker (gw0, gw1, ...) has ports of its own: a port found free here is
# bound later by SIPp or the server, and another worker must not find it free meanwhile.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
# This suite's SIP ports (never 5060, which `make run` uses).
SIP_PORTS = range(5070 + 100 * WORKER, 5100 + 100 * WORKER)
RTP_PORTS = f"{41000 + 2000 * WORKER}-{41999 + 2000 * WORKER}"
SIPP_MEDIA_PORTS = range(42000 + 2000 * WORKER, 43000 + 2000 * WORKER, 2)

T = TypeVar("T")


LOCKS = Path(tempfile.gettempdir()) / "parley-test-ports"
_owned: dict[int, int] = {}  # port -> the lock file descriptor this process holds


def _claim(port: int) -> bool:
    """Whether this process may use ``port``: it holds, or now takes, the port's lock file.

    Probing a port by binding it and letting it go leaves a gap before the server or SIPp binds
    it, and a parallel run (another worktree's suite) could pick the same port in that gap. A
    lock, held until this process exits, gives each run ports of its own; a run reuses its own
    ports once they are free again, so it holds only as many as it uses at once."""
    if port in _owned:
        return True
    LOCKS.mkdir(exist_ok=True)
    fd = os.open(LOCKS / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _owned[port] = fd
    return True


def free_udp_port(ports: range, avoid: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    for port in ports:
        if port in avoid or not _claim(port):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free UDP port in {ports}")


@dataclass
class Sipp:
    process: asyncio.subprocess.Process
    port: int

    async def finished(self, timeout: float = 20.0) -> tuple[int, str]:
        out, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        return int(self.process.returncode or 0), out.decode(errors="replace")

    def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def sipp(scenario: str, target: tuple[str, int] | None, *, calls: int = 1, rate: int = 10,
               hold_ms: int = 1000, keys: dict[str, str] | None = None,
               avoid: set[int] = frozenset(), port: int | None = None  # type: ignore[assignment]
               ) -> Sipp:
    """Start SIPp with a scenario of this folder against ``target`` (None: a UAS on ``port``)."""
    port = port or free_udp_port(SIP_PORTS, {target[1] if target else 0, *avoid})
    media = free_udp_port(SIPP_MEDIA_PORTS)
    args = ["sipp", "-sf", str(HERE / scenario), "-m", str(calls), "-r", str(rate),
            "-l", str(calls), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media), "-d", str(hold_ms), "-nostdin", "-timeout", "60s",
            "-timeout_error", "-max_recv_loops", "1000"]
    for name, value in (keys or {}).items():
        args += ["-key", name, value]
    if target is not None:
        args.append(f"{target[0]}:{target[1]}")
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    return Sipp(process, port)


async def until(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0,
                what: str = "condition") -> T:
    """Poll ``check`` until it returns something (not a sleep as synchronisation: a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
