"""The recording timeline: RTP spacing anchored on arrival, re-anchored on jumps."""

from __future__ import annotations

import itertools
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from recordings.timeline import TrackClock

VIDEO = Fraction(1, 90000)


def test_jittery_arrivals_keep_the_senders_spacing() -> None:
    clock = TrackClock(origin=100.0)
    jitter = [0.030, 0.0, 0.045, 0.010, 0.0, 0.020]
    stamps = [clock.stamp(i * 3000, VIDEO, 100.0 + i / 30 + 0.05 + j)
              for i, j in enumerate(jitter)]
    # Anchored on the least-delayed packet (50 ms delay): 33.3 ms apart after it.
    assert stamps[1:] == [round(50 + i * 1000 / 30) for i in range(1, 6)]


def test_a_new_rtp_timeline_reanchors_on_arrival() -> None:
    clock = TrackClock(origin=0.0)
    clock.stamp(5_000_000, VIDEO, 1.0)
    # A reconnect: the RTP timestamps restart from a random value.
    assert clock.stamp(123, VIDEO, 3.0) == 3000
    assert clock.stamp(123 + 3000, VIDEO, 3.04) == 3033


def test_tracks_of_one_origin_line_up_on_arrival() -> None:
    audio, video = TrackClock(origin=10.0), TrackClock(origin=10.0)
    # The two tracks' RTP clocks have unrelated origins; arrival puts them side by side.
    assert audio.stamp(777_000, Fraction(1, 48000), 12.0) == 2000
    assert video.stamp(9_000_000, VIDEO, 12.0) == 2000


@given(st.lists(st.tuples(st.integers(-10**9, 10**9), st.floats(0, 1000)), min_size=1,
                max_size=60))
def test_stamps_always_increase(steps: list[tuple[int, float]]) -> None:
    clock = TrackClock(origin=0.0)
    stamps = [clock.stamp(pts, VIDEO, arrival) for pts, arrival in steps]
    assert all(b > a for a, b in itertools.pairwise(stamps))
