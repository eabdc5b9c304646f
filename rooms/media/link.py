"""Whether a subscriber's link still carries video: the audio-only fallback. Pure.

Fed with what the subscriber's browser reports about the video the worker sends it: its
bandwidth estimate (REMB, which covers the whole path from the publisher, since the
publisher's send times are passed on) and the share of packets lost (receiver reports).
- **video** -> **audio_only** when the estimate stays under ``AUDIO_ONLY_BELOW`` or the loss
  over ``LOSS_ABOVE`` for ``BAD_FOR`` seconds: the worker stops sending that subscriber video
  (audio goes on, and has the link to itself).
- **audio_only** -> **trial** after ``RETRY_AFTER`` seconds (doubling after each failed trial,
  up to ``RETRY_MAX``): video is sent again, and the subscriber's estimate no longer holds the
  publisher back (an estimate made on audio alone would keep it low for ever).
- **trial** -> **video** when the trial's last ``GOOD_FOR`` seconds were good, or back to
  **audio_only** as soon as it is bad for ``BAD_FOR``.
"""

from __future__ import annotations

from enum import StrEnum

AUDIO_ONLY_BELOW = 150_000  # bit/s: under this, 640x480 video starves the audio
VIDEO_AGAIN_ABOVE = 200_000  # bit/s: a trial must show at least this
LOSS_ABOVE = 0.10
BAD_FOR = 3.0
GOOD_FOR = 5.0
RETRY_AFTER = 8.0
RETRY_MAX = 60.0


class LinkState(StrEnum):
    VIDEO = "video"
    AUDIO_ONLY = "audio_only"
    TRIAL = "trial"


class LinkGuard:
    """One subscriber's video link; ``observe`` and ``tick`` return the new state on a
    change, else None."""

    def __init__(self, now: float) -> None:
        self.state = LinkState.VIDEO
        self._since = now          # when the current state began
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._retry_after = RETRY_AFTER
        self._estimate: int | None = None
        self._loss = 0.0

    @property
    def sends_video(self) -> bool:
        return self.state is not LinkState.AUDIO_ONLY

    @property
    def holds_publisher_back(self) -> bool:
        """Whether this subscriber's estimate should cap the publisher's bitrate."""
        return self.state is LinkState.VIDEO

    def observe(self, now: float, *, estimate: int | None = None,
                loss: float | None = None) -> LinkState | None:
        if estimate is not None:
            self._estimate = estimate
        if loss is not None:
            self._loss = loss
        return self.tick(now)

    def _bad(self) -> bool:
        low = self._estimate is not None and self._estimate < AUDIO_ONLY_BELOW
        return low or self._loss > LOSS_ABOVE

    def _good(self) -> bool:
        enough = self._estimate is None or self._estimate >= VIDEO_AGAIN_ABOVE
        return enough and self._loss <= LOSS_ABOVE

    def tick(self, now: float) -> LinkState | None:
        if self.state is LinkState.AUDIO_ONLY:
            if now - self._since >= self._retry_after:
                return self._enter(LinkState.TRIAL, now)
            return None
        bad = self._bad()
        self._bad_since = (self._bad_since if self._bad_since is not None else now) if bad else None
        if self._bad_since is not None and now - self._bad_since >= BAD_FOR:
            if self.state is LinkState.TRIAL:
                self._retry_after = min(self._retry_after * 2, RETRY_MAX)
            return self._enter(LinkState.AUDIO_ONLY, now)
        if self.state is LinkState.TRIAL:
            good = self._good()
            self._good_since = (self._good_since if self._good_since is not None else now
                                ) if good else None
            if self._good_since is not None and now - self._good_since >= GOOD_FOR:
                self._retry_after = RETRY_AFTER
                return self._enter(LinkState.VIDEO, now)
        return None

    def _enter(self, state: LinkState, now: float) -> LinkState:
        self.state = state
        self._since = now
        self._bad_since = None
        self._good_since = None
        if state is LinkState.TRIAL:
            # What was measured on audio alone says nothing about video.
            self._estimate = None
            self._loss = 0.0
        return state
