"""Writer threads shared by many participants' writers.

A thread per participant would put dozens of threads in the media worker's process, all
waking for every packet and contending with the event loop for the GIL. A few lanes, each one
thread with one queue, serve every writer instead; a writer always uses the same lane, so its
packets stay in order.

Items put on the event loop reach the thread in batches, every ``HANDOFF_S``: waking the
thread for each packet (over a thousand a second at 20 streams) had it take the GIL from the
loop in the middle of every burst of packets, delaying the loop. Writing 20 ms later costs
nothing: a crash loses up to the open cluster (0.5 s) anyway.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

HANDOFF_S = 0.02

Handler = Callable[[tuple[Any, ...]], None]
_Batch = list[tuple[Handler, tuple[Any, ...]]]


class WriterLane:
    """One thread running queued ``handler(item)`` calls in order; ``put`` never blocks."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: _Batch = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, handler: Handler, item: tuple[Any, ...]) -> None:
        """Queue ``handler(item)``. On an event loop it reaches the thread within
        ``HANDOFF_S``; from any other thread at once (with what was pending)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._pending.append((handler, item))
            first = len(self._pending) == 1
        if loop is None:
            self._flush()
        elif first:
            loop.call_later(HANDOFF_S, self._flush)

    def close(self, timeout: float | None = None) -> bool:
        """Finish what is queued, then end the thread; True when it ended in time. A handler
        may call this on its own lane: it then only asks the thread to end."""
        self._flush()
        self._queue.put(None)
        if threading.current_thread() is self._thread:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _flush(self) -> None:
        # Under the lock, so batches from the loop and from other threads keep their order.
        with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                self._queue.put(batch)

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            for handler, item in batch:
                handler(item)  # handlers catch their own errors: a lane must not die
