"""Frames handed on in the event loop, not through aiortc's decoder thread.

aiortc's receiver puts every assembled frame on a ``queue.Queue`` for its decoder thread, and
the thread hands each result back with ``run_coroutine_threadsafe``: per frame a thread wake-up,
a task, a concurrent future and a self-pipe write to wake the loop, plus a thread contending
for the GIL with the loop. The worker does not decode (``PassthroughDecoder`` only wraps bytes),
so ``InlineFrameQueue`` takes the place of that queue: VP8 and Opus frames become packets right
there, on the loop, and go straight to ``deliver`` (the publication's fan-out). Any other codec
and the end-of-stream ``None`` still go to the thread: its codec hooks count real decodes, and
it ends the receiver's own track as before.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import av
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms.media.passthrough import PASSTHROUGH_MIME_TYPES, PassthroughDecoder, ReceiverState

#: The receiver's queue to its decoder thread (checked by tests/rooms/test_media_canary.py).
DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"

#: Takes each packet, and None once when the receiver stops.
Deliver = Callable[["av.Packet[Any] | None"], None]

_Task = tuple[RTCRtpCodecParameters, JitterFrame]


class InlineFrameQueue:
    """Stands in for the receiver's decoder queue. ``put`` is called on the event loop by the
    receiver (each assembled frame, and ``None`` when it stops); ``get`` by its decoder thread,
    which now sees only frames of codecs the worker does not forward as they are."""

    def __init__(self, state: ReceiverState, deliver: Deliver) -> None:
        self._state = state
        self._deliver = deliver
        self._thread_queue: queue.Queue[_Task | None] = queue.Queue()
        self._decoders: dict[str, PassthroughDecoder] = {}  # by MIME type
        self._ended = False

    def put(self, task: _Task | None) -> None:
        if task is None:
            if not self._ended:
                self._ended = True
                self._deliver(None)
            self._thread_queue.put(None)
            return
        codec, frame = task
        decoder = self._decoders.get(codec.mimeType)
        if decoder is None:
            if codec.mimeType.lower() not in PASSTHROUGH_MIME_TYPES:
                self._thread_queue.put(task)
                return
            decoder = self._decoders[codec.mimeType] = PassthroughDecoder(codec, self._state)
        for packet in decoder.decode(frame):
            self._deliver(packet)  # type: ignore[arg-type]  # packets, not decoded frames

    def get(self) -> _Task | None:
        return self._thread_queue.get()
