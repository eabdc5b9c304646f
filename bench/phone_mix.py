"""Benchmark a mediation phone party's mix (a program, not a test): the CPU one call spends
resampling what the worker forwards (48 kHz stereo, as aiortc's Opus decoder gives it) to
8 kHz and summing it into G.711, for 1 to 7 streams heard at once. The Opus decoding itself
and the peer connection are aiortc's and counted in bench/phone.py.

    .venv/bin/python -m bench.phone_mix --seconds 20
"""

from __future__ import annotations

import argparse
import fractions
import math
import time
from array import array

import av

from signaling.telephony.mix import Mix


def _frame(hz: float, pts: int) -> av.AudioFrame:
    n = 960
    samples = array("h")
    for i in range(n):
        v = int(8000 * math.sin(2 * math.pi * hz * (pts + i) / 48000))
        samples.extend((v, v))
    frame = av.AudioFrame(format="s16", layout="stereo", samples=n)
    frame.planes[0].update(samples.tobytes())
    frame.sample_rate, frame.pts, frame.time_base = 48000, pts, fractions.Fraction(1, 48000)
    return frame


def run(streams: int, seconds: float) -> float:
    """CPU seconds per second of call."""
    frames = [[_frame(300 + 100 * s, k * 960) for k in range(50)] for s in range(streams)]
    mix = Mix("PCMA")
    ticks = int(seconds * 50)
    start = time.process_time()
    for t in range(ticks):
        for s in range(streams):
            mix.add(s, frames[s][t % 50])
        mix.next()
    return (time.process_time() - start) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print("| streams heard | CPU-s per s of call | share of a core |")
    print("| --- | --- | --- |")
    for streams in (1, 2, 3, 7):
        cpu = run(streams, args.seconds)
        print(f"| {streams} | {cpu:.4f} | {100 * cpu:.2f}% |")


if __name__ == "__main__":
    main()
