"""Whether a subscriber's link still carries video: the audio-only fallback. Pure.

Fed with what the subscriber's browser reports about the video the worker sends it: its
bandwidth estimate (REMB, which covers the whole path from the publisher, since the
publisher's send times are passed on) and the share of packets lost (receiver reports).
- **video** -> **audio_only** when the estimate stays under ``AUDIO_ONLY_BELOW`` or the loss
  over ``LOSS_ABOVE`` for ``BAD_FOR`` seconds: the worker stops sending that subscriber video
  (audio goes on, and has the link to itself).
- **audio_only** -> **trial** after ``RETRY_AFTER`` seconds (growing by half after each failed
  trial, up to ``RETRY_MAX``, so that video is back within about 10 s of a link recovering):
  video is sent again, and the subscriber's estimate no longer holds the publisher back.
- **trial** -> **video** after ``GOOD_FOR`` seconds with loss at most ``LOSS_ABOVE``, or back to
  **audio_only** when the loss stays over it for ``BAD_FOR``. A trial is judged by loss alone,
  and after it the estimate counts again only once it has climbed over the threshold, or
  ``SETTLE`` s later (a browser that adapted to a narrow link stays under it for good): the
  browser's estimate starts from what audio alone needed and takes longer than a trial to
  climb back, so it would fail every trial; a link that cannot carry the video loses packets.

Measured with bench/shaped.py (docs/decisions.md): at 300 kbit/s video goes on, at 100 kbit/s
the call falls back to audio.
"""

from __future__ import annotations

from enum import StrEnum

AUDIO_ONLY_BELOW = 100_000  # bit/s: under this, video starves the audio
LOSS_ABOVE = 0.10
BAD_FOR = 3.0
GOOD_FOR = 3.0
RETRY_AFTER = 4.0
RETRY_MAX = 6.0
SETTLE = 10.0


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
        self._now = now
        self._estimate: int | None = None
        self._loss = 0.0
        # After a trial the estimate climbs from what audio alone needed: it counts again once
        # it has been above the threshold, or ``SETTLE`` s after the trial (loss counts always).
        # The same at the start of a call, while the browser's estimator warms up.
        self._estimate_trusted = False
        self._trust_at = now + SETTLE

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
            if estimate >= AUDIO_ONLY_BELOW:
                self._estimate_trusted = True
        if loss is not None:
            self._loss = loss
        return self.tick(now)

    def fall_back(self, now: float) -> LinkState | None:
        """Audio only because the other side of the call is (a 1:1 call pauses both ways,
        so this link's reports say nothing about video until the next trial)."""
        if self.state is LinkState.AUDIO_ONLY:
            return None
        return self._enter(LinkState.AUDIO_ONLY, now)

    def _bad(self) -> bool:
        trusted = self._estimate_trusted or self._now >= self._trust_at
        low = trusted and self._estimate is not None and self._estimate < AUDIO_ONLY_BELOW
        return low or self._loss > LOSS_ABOVE

    def _lossy(self) -> bool:
        return self._loss > LOSS_ABOVE

    def tick(self, now: float) -> LinkState | None:
        self._now = now
        if self.state is LinkState.AUDIO_ONLY:
            if now - self._since >= self._retry_after:
                return self._enter(LinkState.TRIAL, now)
            return None
        bad = self._lossy() if self.state is LinkState.TRIAL else self._bad()
        self._bad_since = (self._bad_since if self._bad_since is not None else now) if bad else None
        if self._bad_since is not None and now - self._bad_since >= BAD_FOR:
            if self.state is LinkState.TRIAL:
                self._retry_after = min(self._retry_after * 1.5, RETRY_MAX)
            return self._enter(LinkState.AUDIO_ONLY, now)
        if self.state is LinkState.TRIAL:
            good = not self._lossy()
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
            self._good_since = now
            self._estimate_trusted = False
            self._trust_at = now + GOOD_FOR + SETTLE
        return state
