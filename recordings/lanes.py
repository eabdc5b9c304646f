"""Writer threads shared by many participants' writers.

A thread per participant would put dozens of threads in the media worker's process, all
waking for every packet and contending with the event loop for the GIL. A few lanes, each one
thread with one queue, serve every writer instead; a writer always uses the same lane, so its
packets stay in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[tuple[Any, ...]], None]


class WriterLane:
    """One thread running queued ``handler(item)`` calls in order; ``put`` never blocks."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Handler, tuple[Any, ...]] | None] = (
            queue.SimpleQueue())
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, handler: Handler, item: tuple[Any, ...]) -> None:
        self._queue.put((handler, item))

    def close(self, timeout: float | None = None) -> bool:
        """Finish what is queued, then end the thread; True when it ended in time. A handler
        may call this on its own lane: it then only asks the thread to end."""
        self._queue.put(None)
        if threading.current_thread() is self._thread:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (entry := self._queue.get()) is not None:
            handler, item = entry
            handler(item)  # handlers catch their own errors: a lane must not die
