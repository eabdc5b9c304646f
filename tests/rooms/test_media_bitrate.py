"""The lean bitrate estimator gives aiortc's estimates for the same packets."""

from __future__ import annotations

from aiortc.rate import OveruseEstimator, RateCounter, RemoteBitrateEstimator
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.media.bitrate import LeanBitrateEstimator, MinHistoryOveruseEstimator, WindowRateCounter

# (ms since the previous packet, payload size, abs-send-time step in 1/2^18 s)
packets = st.lists(st.tuples(st.integers(0, 1500), st.integers(1, 1400), st.integers(0, 40000)),
                   min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(packets)
def test_rate_counter_matches_aiortc(steps: list[tuple[int, int, int]]) -> None:
    stock, lean = RateCounter(1000, 8000), WindowRateCounter(1000, 8000)
    now = 10_000
    for gap, size, _ in steps:
        now += gap
        assert lean.rate(now) == stock.rate(now)
        stock.add(size, now)
        lean.add(size, now)
        assert lean.rate(now) == stock.rate(now)
        if size % 97 == 0:
            stock.reset()
            lean.reset()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=200))
def test_min_frame_period_matches_aiortc(deltas: list[float]) -> None:
    stock, lean = OveruseEstimator(), MinHistoryOveruseEstimator()
    for delta in deltas:
        assert lean.update_min_frame_period(delta) == stock.update_min_frame_period(delta)


@settings(max_examples=100, deadline=None)
@given(packets)
def test_estimates_and_remb_match_aiortc(steps: list[tuple[int, int, int]]) -> None:
    stock, lean = RemoteBitrateEstimator(), LeanBitrateEstimator()
    now, send = 50_000, 0
    for gap, size, step in steps:
        now += gap
        send = (send + step) % (1 << 24)
        args = {"arrival_time_ms": now, "abs_send_time": send, "payload_size": size,
                "ssrc": 1234}
        assert lean.add(**args) == stock.add(**args)


def test_a_steady_stream_gets_the_same_remb() -> None:
    # 30 fps, 3 packets a frame, over 10 s: the estimator initialises and sends REMB.
    stock, lean = RemoteBitrateEstimator(), LeanBitrateEstimator()
    remb = []
    for frame in range(300):
        for i in range(3):
            now = 1_000 + frame * 33 + i
            send = (frame * 33 * 262 + i * 10) % (1 << 24)  # 2^18 per second
            args = {"arrival_time_ms": now, "abs_send_time": send, "payload_size": 1100,
                    "ssrc": 1}
            expected = stock.add(**args)
            assert lean.add(**args) == expected
            remb.append(expected)
    assert any(r is not None for r in remb), "the run reaches REMB"
