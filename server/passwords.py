"""Password hashing with argon2id (argon2-cffi's recommended parameters).

``hash_password`` and ``check_password`` are the plain functions (the CLI, tests). A server
uses ``PasswordChecker``: each argon2 run takes a few hundred milliseconds of CPU, so it runs on
the checker's own threads and never on the event loop (argon2-cffi releases the GIL while it
hashes); and an unknown username is checked against a dummy hash, so it costs the same time as
a wrong password and the answer's timing does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
T = TypeVar("T")
# Threads for argon2: each run holds 64 MiB; more at once than the cores only queues longer.
HASH_THREADS = 2


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class PasswordChecker:
    """argon2 off the event loop, on a small pool of its own (not the loop's default executor,
    which DNS look-ups and other blocking calls share). ``close`` is idempotent."""

    def __init__(self, threads: int = HASH_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._dummy: str | None = None
        self._dummy_lock = asyncio.Lock()
        self._closed = False

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; ``None`` (no such user) is checked
        against the dummy hash and is always False, at the same cost."""
        if password_hash is None:
            await self._run(check_password, await self._dummy_hash(), password)
            return False
        return await self._run(check_password, password_hash, password)

    async def _dummy_hash(self) -> str:
        # Made with this hasher's parameters on first use (not at start: a process that never
        # sees an unknown name should not pay for it), so it costs what a real hash costs.
        async with self._dummy_lock:
            if self._dummy is None:
                self._dummy = await self._run(hash_password, secrets.token_urlsafe(24))
            return self._dummy

    async def _run(self, function: Callable[..., T], *args: str) -> T:
        if self._closed:
            raise RuntimeError("PasswordChecker is closed")
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True)

