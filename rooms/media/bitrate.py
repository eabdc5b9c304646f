"""aiortc's receive-side bitrate estimator (REMB to publishers), with its two slow loops made
cheap; same inputs, same estimates.

Profiling the worker at 20 streams put the estimator at about 15% of the event loop's time,
mostly in two places that run for every video packet:
- ``RateCounter`` keeps 1 ms buckets and clears them one millisecond at a time, so each packet
  after a 33 ms frame gap walks 33 buckets in Python; ``WindowRateCounter`` keeps the packets
  of the window in a deque and drops the old ones;
- ``OveruseEstimator.update_min_frame_period`` takes the minimum of its 60-entry history in a
  Python loop; ``min`` does it in C.
tests/rooms/test_media_bitrate.py feeds both versions the same packets and compares.
"""

from __future__ import annotations

from collections import deque

from aiortc.rate import (
    MIN_FRAME_PERIOD_HISTORY_LENGTH,
    OveruseEstimator,
    RateBucket,
    RateCounter,
    RemoteBitrateEstimator,
)

#: The receiver's estimator (checked by tests/rooms/test_media_canary.py).
BITRATE_ESTIMATOR_ATTR = "_RTCRtpReceiver__remote_bitrate_estimator"


class WindowRateCounter(RateCounter):
    """``RateCounter`` over the same window: the sum of the values added in the last
    ``window_size`` ms, scaled, per active window."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._entries: deque[tuple[int, int]] = deque()
        super().__init__(window_size, scale)

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        self._entries.append((now_ms, value))
        self._total.count += 1
        self._total.value += value

    def reset(self) -> None:
        self._entries = deque()
        self._origin_index = 0
        self._origin_ms = None
        self._total = RateBucket()

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        new_origin_ms = now_ms - self._window_size + 1
        if self._origin_ms >= new_origin_ms:
            return
        entries, total = self._entries, self._total
        while entries and entries[0][0] < new_origin_ms:
            _, value = entries.popleft()
            total.count -= 1
            total.value -= value
        self._origin_ms = new_origin_ms


class MinHistoryOveruseEstimator(OveruseEstimator):
    def update_min_frame_period(self, ts_delta: float) -> float:
        history = self.ts_delta_hist
        if len(history) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
            history.pop(0)
        min_frame_period = min(ts_delta, min(history)) if history else ts_delta
        history.append(ts_delta)
        return min_frame_period


class LeanBitrateEstimator(RemoteBitrateEstimator):
    """``RemoteBitrateEstimator`` with the two parts above replaced."""

    def __init__(self) -> None:
        super().__init__()
        self.incoming_bitrate = WindowRateCounter(1000, 8000)
        self.estimator = MinHistoryOveruseEstimator()
