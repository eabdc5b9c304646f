"""Whether a subscriber's link still carries video: the audio-only fallback. Pure.

Fed with what the subscriber's browser reports about the video the worker sends it: its
bandwidth estimate (REMB, which covers the whole path from the publisher, since the
publisher's send times are passed on) and the share of packets lost (receiver reports).
- **video** -> **audio_only** when the estimate stays under ``AUDIO_ONLY_BELOW`` without
  climbing, or the loss over ``LOSS_ABOVE``, for ``BAD_FOR`` seconds: the worker stops sending
  that subscriber video (audio goes on, and has the link to itself).
- **audio_only** -> **trial** after ``RETRY_AFTER`` seconds (growing by half after each failed
  trial, up to ``RETRY_MAX``: at 100 kbit/s a trial costs the audio some delay, and video is
  back within about 12 s of a link recovering):
  video is sent again, and the subscriber's estimate no longer holds the publisher back.
- **trial** -> **video** after ``GOOD_FOR`` seconds without a bad sign and with the estimate
  (if the browser reports one) at least ``AUDIO_ONLY_BELOW``, or back to **audio_only** when a
  bad sign lasts ``BAD_FOR`` (the next trial then waits longer).

A low estimate is a bad sign only while it is not climbing (no new high in the last
``CLIMB_WINDOW`` s over the ``CLIMB_WINDOW`` s before; with no history that far back it is not
judged): when a trial starts on a widened link, the browser's estimate starts from what audio
alone needed and climbs by about 5% a second once video flows (measured with bench/shaped.py:
25 to 100 kbit/s in the 17 s after a trial began), while on a link that stays narrow it lies
flat (13-25 kbit/s at 100 kbit/s). Judged by loss alone, a trial at 100 kbit/s passed (the
browser fits 30 kbit/s of video in) and the call swung between 13 s of 6 fps video and 4 s of
audio; judged after a settling delay, the slow climb after the limit lifted fell back again on
a recovered link. The history is cleared on going audio only, so a trial is compared with
the audio-only spell before it.

Measured with bench/shaped.py (docs/media.md "Shaped-link results"): at 300 kbit/s video goes
on, at 100 kbit/s the call falls back to audio, and video returns once the limit lifts.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

# bit/s: under this there is no room for video beside the audio (Opus with its RTP, SRTP, UDP
# and IP headers takes about 50 kbit/s); at 100 kbit/s browsers estimate 13-35 kbit/s, at
# 300 kbit/s 140-190 (dipping to 70 on a loaded machine).
AUDIO_ONLY_BELOW = 64_000
LOSS_ABOVE = 0.10
BAD_FOR = 3.0
CLIMB_WINDOW = 4.0     # s: a new high within this long means the estimate is still climbing
CLIMB_BY = 1.02        # a new high is this much above the highest before the window
HISTORY = 2 * CLIMB_WINDOW  # s of estimates kept: the window and one as long before it
# A trial is judged against the estimates of the audio-only spell before it (browsers report
# about 4 times a second): a flat line fails it after BAD_FOR s; it passes after this long.
GOOD_FOR = BAD_FOR + 2.0
RETRY_AFTER = 4.0
RETRY_MAX = 12.0


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
        self._estimates: deque[tuple[float, int]] = deque()  # (when, bit/s), oldest first
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
            self._estimates.append((now, estimate))
            while now - self._estimates[0][0] > HISTORY:
                self._estimates.popleft()
        if loss is not None:
            self._loss = loss
        return self.tick(now)

    def fall_back(self, now: float) -> LinkState | None:
        """Audio only because the other side of the call is (a 1:1 call pauses both ways,
        so this link's reports say nothing about video until the next trial)."""
        if self.state is LinkState.AUDIO_ONLY:
            return None
        if self.state is LinkState.TRIAL:
            self._retry_after = min(self._retry_after * 1.5, RETRY_MAX)  # the call's trial failed
        return self._enter(LinkState.AUDIO_ONLY, now)

    def try_again(self, now: float) -> LinkState | None:
        """A trial because the other side of the call started one (both pages send video
        again only when neither side is audio only, so the two trials go together)."""
        if self.state is not LinkState.AUDIO_ONLY:
            return None
        return self._enter(LinkState.TRIAL, now)

    def _low_and_flat(self) -> bool:
        """The latest estimate is under the threshold and has stopped climbing."""
        if not self._estimates or self._estimates[-1][1] >= AUDIO_ONLY_BELOW:
            return False
        cut = self._now - CLIMB_WINDOW
        before = [bitrate for at, bitrate in self._estimates if cut - CLIMB_WINDOW <= at < cut]
        if not before:
            return False  # too short a history to tell a climb from a flat line
        recent = max((bitrate for at, bitrate in self._estimates if at >= cut), default=0)
        return recent <= max(before) * CLIMB_BY

    def _bad(self) -> bool:
        return self._loss > LOSS_ABOVE or self._low_and_flat()

    def tick(self, now: float) -> LinkState | None:
        self._now = now
        if self.state is LinkState.AUDIO_ONLY:
            if now - self._since >= self._retry_after:
                return self._enter(LinkState.TRIAL, now)
            return None
        bad = self._bad()
        self._bad_since = (self._bad_since if self._bad_since is not None else now) if bad else None
        if self._bad_since is not None and now - self._bad_since >= BAD_FOR:
            if self.state is LinkState.TRIAL:
                self._retry_after = min(self._retry_after * 1.5, RETRY_MAX)
            return self._enter(LinkState.AUDIO_ONLY, now)
        if self.state is LinkState.TRIAL:
            # A climbing estimate keeps a trial going; it passes once it is over the line (at
            # 100 kbit/s one climbed from 18 to 54 kbit/s in 8 s, then lay flat).
            latest = self._estimates[-1][1] if self._estimates else None
            good = not bad and (latest is None or latest >= AUDIO_ONLY_BELOW)
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
        if state is LinkState.AUDIO_ONLY:
            # A trial's estimate is compared with audio's alone, not with video's before.
            self._estimates.clear()
        if state is LinkState.TRIAL:
            self._loss = 0.0  # what was lost of audio alone says nothing about video
            self._good_since = now
        return state
