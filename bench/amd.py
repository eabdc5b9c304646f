"""Benchmark the answering-machine screen of a callback (a program, not a test): the CPU one
screened call costs, frame by frame, on espeak-ng speech (a long greeting: the worst case, every
frame voiced and tone-checked) and on a short 喂? then silence.

    .venv/bin/python -m bench.amd --repeat 20
"""

from __future__ import annotations

import argparse
import time

from signaling.telephony.amd import FRAME_S, Screen
from tests.telephony.voices import HUMAN, MACHINE, frames, silence, speech


def _cost(pcm: bytes, repeat: int) -> tuple[float, int]:
    """CPU seconds per frame fed until the screen decides, and how many frames that took."""
    chunks = frames(pcm)
    used = 0
    start = time.process_time()
    for _ in range(repeat):
        screen = Screen()
        for n, frame in enumerate(chunks):
            if screen.frame(n * FRAME_S, frame) is not None:
                used = n + 1
                break
    return (time.process_time() - start) / max(1, used * repeat), used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    # The long greeting: every frame voiced and tone-checked until the 1.5 s rule decides.
    for name, pcm in (("long greeting", silence(0.3) + speech(MACHINE)),
                      ("喂? then silence", silence(0.3) + speech(HUMAN) + silence(3))):
        per_frame, used = _cost(pcm, args.repeat)
        share = per_frame / FRAME_S
        print(f"{name:18s} decided after {used * FRAME_S:.2f} s: {per_frame * 1e6:.0f} µs CPU "
              f"per 20 ms frame, {share:.1%} of a core while screening, "
              f"{per_frame * used * 1e3:.1f} ms CPU per call")


if __name__ == "__main__":
    main()
