"""A mergeable histogram of seconds (pure): fixed buckets, so a day's histograms add up to a
week's or a month's and the 90th percentile of any range comes from the aggregates alone.

Buckets are 1 s wide up to a minute, 5 s up to 5 minutes, 30 s up to half an hour and 5 minutes
up to two hours; longer waits share one overflow bucket. A percentile is reported as the upper
edge of the bucket that holds it ("90% waited at most this long"), exact to the bucket."""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Iterable, Sequence

EDGES: tuple[float, ...] = (
    *range(1, 61), *range(65, 301, 5), *range(330, 1801, 30), *range(2100, 7201, 300))
OVERFLOW = len(EDGES)

# Stored as JSON: a list of counts per bucket, trailing empty buckets left out. Dense, so that
# merging a month of rows is one C-speed addition per bucket (bench/reports.py).
Histogram = list[int]


def bucket_of(seconds: float) -> int:
    """The bucket holding ``seconds``: bucket i holds (EDGES[i-1], EDGES[i]], bucket 0 [0, 1]."""
    return bisect_left(EDGES, max(0.0, seconds))


def upper_edge(bucket: int) -> float:
    """The largest value bucket ``bucket`` holds (infinity for the overflow bucket)."""
    return EDGES[bucket] if bucket < OVERFLOW else math.inf


def add(hist: Histogram, seconds: float, count: int = 1) -> None:
    bucket = bucket_of(seconds)
    if len(hist) <= bucket:
        hist.extend([0] * (bucket + 1 - len(hist)))
    hist[bucket] += count


def merge(into: Histogram, other: Sequence[int]) -> Histogram:
    if len(into) < len(other):
        into.extend([0] * (len(other) - len(into)))
    into[:len(other)] = map(operator.add, into[:len(other)], other)
    return into


def merged(hists: Iterable[Sequence[int]]) -> Histogram:
    out: Histogram = []
    for hist in hists:
        merge(out, hist)
    return out


def quantile(hist: Sequence[int], q: float) -> float | None:
    """The nearest-rank ``q`` quantile, as its bucket's upper edge; None when empty."""
    total = sum(hist)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket, count in enumerate(hist):
        seen += count
        if seen >= rank:
            return upper_edge(bucket)
    return upper_edge(OVERFLOW)  # unreachable: the counts add up to ``total``
