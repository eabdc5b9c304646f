"""One publication's packets, handed to its subscribers and listeners as they arrive.

This replaces aiortc's ``MediaRelay`` for the worker's receivers. The relay read the receiver's
track in a task of its own and copied each packet into every proxy's queue, so every packet made
two task hops before a subscriber saw it, and the recorder's tap a third. Here the receiver's
frame queue (``rooms.media.delivery``) calls ``FanOut.deliver`` directly, on the event loop:
- each subscriber (a forwarding track's source) has its own unbounded queue, like the relay's
  buffered proxies (an unbuffered one would skip frames when its reader is late, and a skipped
  VP8 frame corrupts the picture until the next keyframe);
- each listener (the recorder's tap) is called synchronously and must return at once.
Packets arriving while nobody subscribes are not kept: a new subscriber starts from the next
keyframe anyway (``ForwardingTrack`` waits for one and asks the publisher for it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

Listener = Callable[["av.Packet[Any]"], None]


class SubscriberTrack(MediaStreamTrack):
    """One subscriber's copy of a publication: every packet since it subscribed, in order.
    Ends (``MediaStreamError``) when the publication ends or the subscriber stops it."""

    def __init__(self, fanout: FanOut) -> None:
        super().__init__()
        self.kind = fanout.kind
        self._fanout: FanOut | None = fanout
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()

    def put(self, packet: av.Packet[Any] | None) -> None:
        self._queue.put_nowait(packet)

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        if self._fanout is not None:
            self._fanout.unsubscribe(self)
            self._fanout = None


class FanOut:
    """The subscribers and listeners of one publication; ``deliver`` runs on the event loop
    and never raises into aiortc's receive path."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._subscribers: list[SubscriberTrack] = []
        self._listeners: list[Listener] = []
        self._ended = False

    def subscribe(self) -> SubscriberTrack:
        track = SubscriberTrack(self)
        if self._ended:
            track.put(None)
        else:
            self._subscribers.append(track)
        return track

    def unsubscribe(self, track: SubscriberTrack) -> None:
        if track in self._subscribers:
            self._subscribers.remove(track)

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every packet from now on, until the publication ends."""
        if not self._ended:
            self._listeners.append(listener)

    def deliver(self, packet: av.Packet[Any] | None) -> None:
        """One packet for everyone; None: the publication ended."""
        for track in self._subscribers:
            track.put(packet)
        if packet is None:
            self._ended = True
            self._subscribers.clear()
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
