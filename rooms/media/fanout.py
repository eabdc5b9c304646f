"""One publication's assembled frames, handed to its listeners as they arrive.

Forwarding to subscribers works on RTP packets (``rooms.media.peer``, ``rooms.media.outstream``)
and needs no frames. Frames are assembled only for listeners (the recorder's tap), off the
forward path; the frame queue (``rooms.media.delivery``) calls ``FanOut.deliver`` on the event
loop, and each listener is called synchronously and must return at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import av

logger = logging.getLogger(__name__)

Listener = Callable[["av.Packet[Any]"], None]


class FanOut:
    """The listeners of one publication; ``deliver`` runs on the event loop and never raises
    into the receive path."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._listeners: list[Listener] = []
        self._ended = False

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every packet from now on, until the publication ends."""
        if not self._ended:
            self._listeners.append(listener)

    def deliver(self, packet: av.Packet[Any] | None) -> None:
        """One packet for every listener; None: the publication ended."""
        if packet is None:
            self._ended = True
            self._listeners.clear()
            return
        failed: list[Listener] = []
        for listener in self._listeners:
            try:
                listener(packet)
            except Exception:
                # A failing listener must not take the receiver down with it.
                logger.exception("a %s packet listener failed; it gets no more packets",
                                 self.kind)
                failed.append(listener)
        if failed:
            self._listeners = [x for x in self._listeners if x not in failed]
