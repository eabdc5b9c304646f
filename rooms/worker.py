"""The media worker interface: one ``request`` method taking and returning messages."""

from __future__ import annotations

from typing import Protocol

from rooms.messages import ErrorReply, MediaWorkerError, Reply, Request


class MediaWorker(Protocol):
    """Hosts rooms' WebRTC peer connections and forwards encoded media between them.

    ``request`` never raises for a refused request: it returns ``ErrorReply``. Implementations:
    ``rooms.media.local.LocalMediaWorker`` (in this process).
    """

    async def request(self, message: Request) -> Reply: ...

    async def close(self) -> None:
        """Close every peer connection; idempotent."""
        ...


async def call(worker: MediaWorker, message: Request) -> Reply:
    """Send ``message`` and raise ``MediaWorkerError`` if the worker refused it."""
    reply = await worker.request(message)
    if isinstance(reply, ErrorReply):
        raise MediaWorkerError(reply.code, reply.message)
    return reply
