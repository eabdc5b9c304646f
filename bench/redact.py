"""Benchmark cutting a recording segment for a viewer shut out of a caucus (a program, not a
test).

    .venv/bin/python -m bench.redact [--seconds 60] [--width 640 --height 480] [--runs 3]

Writes one segment of real VP8 + Opus (encoded once, before timing), then measures, on the
same file in the same run: a plain copy (what serving the whole file costs at most), a demux
to the end (``recordings.probe``: reading without writing), and ``recordings.redact.redact``
keeping all but the middle third (a caucus). Prints a markdown table: seconds per run (median)
and seconds per media minute.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from recordings.privacy import OPEN
from recordings.probe import probe
from recordings.redact import redact
from recordings.webm import SegmentFile
from tests.recordings.media import media


def _timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "0001.webm"
        segment = SegmentFile(source, size=(args.width, args.height))
        for item in media(args.seconds, args.width, args.height, bitrate=800_000):
            segment.write(item.kind, bytes(item.packet), round(item.at * 1000),
                          bool(item.packet.is_keyframe))
        segment.close()
        total_ms = int(args.seconds * 1000)
        third = total_ms // 3
        ranges = [(0, third), (2 * third, OPEN)]
        dest = Path(tmp) / "cut.webm"
        rows = [
            ("copy (whole file)", _timed(lambda: shutil.copyfile(source, dest), args.runs)),
            ("demux to the end (probe)", _timed(lambda: probe(source), args.runs)),
            ("redact (middle third cut)", _timed(lambda: redact(source, dest, ranges),
                                                  args.runs)),
        ]
        size = source.stat().st_size
        kept = probe(dest)
    minutes = args.seconds / 60
    print(f"segment: {args.seconds:.0f} s, {args.width}x{args.height}, {size / 1e6:.1f} MB; "
          f"cut copy keeps {kept.packets} packets; median of {args.runs} runs")
    print()
    print("| operation | s per run | s per media minute |")
    print("| --- | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / minutes:.3f} |")


if __name__ == "__main__":
    main()
