"""An owned periodic task: runs a coroutine every ``interval`` seconds until closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Ticker:
    """Calls ``step`` every ``interval`` seconds; a failing step is logged, never fatal."""

    def __init__(self, step: Callable[[], Awaitable[None]], interval: float, name: str) -> None:
        self._step = step
        self._interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", self._name)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Cancelled during the step, but a library swallowed it or turned it into
                # another error (seen with a database checkout cut short): stop as asked,
                # or close() would wait for ever.
                raise asyncio.CancelledError
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop the task; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
