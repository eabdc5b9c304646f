"""Make sure the real Redis and PostgreSQL the tests use are reachable.

Run by `make test` before pytest. When a service is down it is started with the machine's own
command. Under CI=true a service that stays unreachable fails the run; elsewhere the tests that
need it are skipped (they read PARLEY_TEST_*_URL and skip when it is unreachable).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

REDIS = ("127.0.0.1", 6379)
POSTGRES = ("127.0.0.1", 5432)

START = {
    "redis": [
        "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
        "--save", "", "--appendonly", "no",
    ],
    "postgres": ["sh", "-c",
                 "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"],
}


def reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def ensure(name: str, address: tuple[str, int]) -> bool:
    if reachable(address):
        return True
    command = START[name]
    if shutil.which(command[0]) is None:
        return False
    print(f"tests: starting {name}", flush=True)
    subprocess.run(command, check=False, capture_output=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if reachable(address):
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    ci = os.environ.get("CI") == "true"
    failed = []
    for name, address in (("redis", REDIS), ("postgres", POSTGRES)):
        if ensure(name, address):
            print(f"tests: {name} reachable at {address[0]}:{address[1]}")
        elif ci:
            failed.append(name)
        else:
            print(f"tests: {name} unreachable; its tests will be skipped")
    if failed:
        print(f"tests: CI=true and unreachable: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
