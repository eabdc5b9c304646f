"""A report from the daily aggregates (pure): totals, rates and the 90th percentile over a span,
a day-by-day series, the breakdown by each dimension, the citizens' criticism by reason and
region, and the legal clocks kept or missed per institution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from server.reports import histogram
from server.reports.ranges import Span
from server.reports.tally import ALL_KEY, ClockKey, Counts, Dim, RowKey, days


def measures(c: Counts) -> dict[str, Any]:
    """The figures a reader wants from additive counts (None where nothing to divide by)."""
    queued = c.offered - c.callbacks
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "service_level": c.answered_in_sl / c.answered if c.answered else None,
        "asa_s": c.wait_sum_s / c.answered if c.answered else None,
        "p90_wait_s": histogram.quantile(c.wait_hist, 0.9),
        "abandonment_rate": c.abandoned / queued if queued > 0 else None,
        "aht_s": c.handle_sum_s / c.handled if c.handled else None,
        "handled": c.handled,
        "transfers": c.transfers,
        "callbacks": c.callbacks,
        "callbacks_kept": c.callbacks_kept,
        "ratings": c.ratings,
        "avg_rating": c.rating_sum / c.ratings if c.ratings else None,
        "low_ratings": c.low_ratings,
        "complaints": c.complaints,
        "reviews": c.reviews,
        "review_score": c.review_points / c.review_max if c.review_max else None,
        "reasons": dict(sorted(c.reasons.items())),
    }


# The wait distribution the charts show: answered contacts by how long they waited (seconds).
WAIT_BANDS = (10, 20, 30, 60, 120, 300, 600)


def wait_bands(hist: Sequence[int]) -> list[dict[str, Any]]:
    """The histogram in coarse bands: ``upto_s`` None is the band above the last edge."""
    counts = [0] * (len(WAIT_BANDS) + 1)
    for bucket, count in enumerate(hist):
        edge = histogram.upper_edge(bucket)
        band = next((i for i, upto in enumerate(WAIT_BANDS) if edge <= upto), len(WAIT_BANDS))
        counts[band] += count
    return [{"upto_s": WAIT_BANDS[i] if i < len(WAIT_BANDS) else None, "count": n}
            for i, n in enumerate(counts)]


def _sum(rows: Iterable[Counts]) -> Counts:
    total = Counts()
    for row in rows:
        total.add(row)
    return total


def build(rows: Mapping[RowKey, Counts], clocks: Mapping[ClockKey, tuple[int, int]], span: Span,
          dim: Dim = Dim.ALL, key: str = ALL_KEY,
          parts: Iterable[tuple[str, str, Counts]] | None = None) -> dict[str, Any]:
    """The report over ``span`` for one key of one dimension (everything: ``all``/``*``).

    ``rows``: day rows holding at least those of ``dim``/``key``; ``parts``: the breakdown's
    rows (dimension, key, figures) already limited to ``span`` (by default the day rows of
    ``rows`` in ``span``)."""
    if parts is None:
        parts = [(d, k, c) for (day, d, k), c in rows.items() if span.start <= day <= span.end]
    chosen = {k: v for k, v in rows.items() if k[1] == dim.value and k[2] == key
              and span.start <= k[0] <= span.end}
    by_day: dict[date, Counts] = {}
    for (day, _, _), counts in chosen.items():
        by_day.setdefault(day, Counts()).add(counts)
    series = [{"day": day.isoformat(), **measures(by_day.get(day, Counts()))}
              for day in days(span.start, span.end)]
    total = _sum(chosen.values())
    per_dim: dict[str, dict[str, Counts]] = {d.value: {} for d in Dim if d is not Dim.ALL}
    for row_dim, row_key, counts in parts:
        if row_dim in per_dim:
            per_dim[row_dim].setdefault(row_key, Counts()).add(counts)
    breakdown = {d: [{"key": k, **measures(v)} for k, v in sorted(per_key.items())]
                 for d, per_key in per_dim.items()}
    institutions: dict[str, list[int]] = {}
    for (day, institution, _code), (kept, missed) in clocks.items():
        if span.start <= day <= span.end:
            pair = institutions.setdefault(institution, [0, 0])
            pair[0] += kept
            pair[1] += missed
    return {
        "from": span.start.isoformat(), "to": span.end.isoformat(), "days": span.days,
        "dim": dim.value, "key": key,
        "totals": measures(total),
        "waits": wait_bands(total.wait_hist),
        "series": series,
        "breakdown": breakdown,
        "criticism": criticism(breakdown["region"], by_day),
        "clocks": [{"institution": i, "kept": k, "missed": m,
                    "kept_rate": k / (k + m) if k + m else None}
                   for i, (k, m) in sorted(institutions.items())],
    }


def criticism(regions: list[dict[str, Any]], by_day: Mapping[date, Counts]) -> dict[str, Any]:
    """群众批评意见: the reasons given, overall and per region, with low ratings and complaints."""
    reasons: dict[str, int] = {}
    for counts in by_day.values():
        for reason, n in counts.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "regions": [{"region": r["key"], "ratings": r["ratings"], "low_ratings": r["low_ratings"],
                     "complaints": r["complaints"], "reasons": r["reasons"]}
                    for r in regions if r["ratings"]],
    }
