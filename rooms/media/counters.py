"""Counters one media worker keeps; decoder threads and the event loop both write them."""

from __future__ import annotations

import threading
from collections import Counter


class MediaCounters:
    """Thread-safe counters behind ``WorkerStats``.

    ``decoded_frames`` and ``encoded_frames`` count calls into aiortc's real codecs made on the
    worker's behalf (see ``codec_audit``); they must stay zero.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forwarded: Counter[str] = Counter()
        self._decoded = 0
        self._encoded = 0
        self._keyframe_requests = 0

    def forwarded(self, kind: str) -> None:
        # Called for every forwarded frame, from the event loop only (never a decoder
        # thread): one writer, so no lock; ``snapshot`` copies under the GIL.
        self._forwarded[kind] += 1

    def decoded(self) -> None:
        with self._lock:
            self._decoded += 1

    def encoded(self) -> None:
        with self._lock:
            self._encoded += 1

    def keyframe_requested(self) -> None:
        with self._lock:
            self._keyframe_requests += 1

    def snapshot(self) -> tuple[dict[str, int], int, int, int]:
        """(forwarded frames per kind, decoded, encoded, keyframe requests)."""
        with self._lock:
            return (dict(self._forwarded), self._decoded, self._encoded,
                    self._keyframe_requests)
