"""Pushes to the connections this process holds, and no other.

Every signaling process runs the same tick over the same shared state (queue positions, the
queue size, supervisor figures); if each pushed through the cluster, a citizen connected to one
process would get the same update once per process. Each process pushes what it computed to its
own connections instead, so every connection gets it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import socketio

NAMESPACE = "/"


def holds(sio: socketio.AsyncServer, target: str) -> bool:
    """Whether this process holds a connection in ``target``."""
    return bool(sio.manager.rooms.get(NAMESPACE, {}).get(target))


async def emit_here(sio: socketio.AsyncServer, event: str, data: dict[str, Any],
                    to: str | Sequence[str]) -> bool:
    """Push ``event`` to this process's connections in ``to``; whether there were any."""
    held = [t for t in ([to] if isinstance(to, str) else to) if holds(sio, t)]
    if held:
        # ignore_queue: straight to the local connections, not through the Redis manager.
        await sio.emit(event, data, to=held[0] if len(held) == 1 else held, ignore_queue=True)
    return bool(held)
