"""The pure parts of reports: folding contacts day by day and merging the days gives the same
figures as computing them from the raw contacts at once (hypothesis), whatever the span; the
histogram's percentile is the bucket of the exact one; ranges are Shanghai days."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.reports import histogram
from server.reports.ranges import Period, RangeError, Span, span_of
from server.reports.summary import build
from server.reports.tally import Contact, fold
from server.reports.tally import contact_counts as counts_of
from tests.server.reports.generated import local

BASE = datetime(2026, 10, 1, tzinfo=UTC)

contacts = st.lists(st.builds(
    lambda i, start, wait, talk, answered, abandoned, callback, region, transfers: Contact(
        id=str(i), queued_at=BASE + timedelta(seconds=start),
        matched_at=BASE + timedelta(seconds=start + wait) if answered else None,
        ended_at=BASE + timedelta(seconds=start + wait + talk), abandoned=abandoned,
        service="consultation", region=region, channel="text", agent="7" if answered else None,
        callback=callback, transfers=transfers),
    st.integers(0, 10**9), st.floats(0, 35 * 86400), st.floats(0, 9000), st.floats(1, 3600),
    st.booleans(), st.booleans(), st.booleans(), st.sampled_from(["a", "b"]), st.integers(0, 3)),
    max_size=60)


@settings(max_examples=60, deadline=None)
@given(contacts, st.integers(0, 34), st.integers(0, 34))
def test_merged_days_equal_the_raw_contacts(found: list[Contact], a: int, b: int) -> None:
    start = local(BASE) + timedelta(days=min(a, b))
    end = local(BASE) + timedelta(days=max(a, b))
    report = build(fold(counts_of(c) for c in found), {}, Span(start, end))
    mine = [c for c in found if start <= local(c.queued_at) <= end]
    waits = sorted((c.matched_at - c.queued_at).total_seconds() for c in mine if c.matched_at)
    totals = report["totals"]
    assert totals["offered"] == len(mine)
    assert totals["answered"] == len(waits)
    assert totals["abandoned"] == sum(1 for c in mine if c.abandoned and not c.matched_at
                                      and not c.callback)
    assert totals["transfers"] == sum(c.transfers for c in mine)
    if waits:
        assert math.isclose(totals["asa_s"], sum(waits) / len(waits), rel_tol=1e-9)
        assert totals["service_level"] == sum(w <= 60 for w in waits) / len(waits)
        exact = waits[math.ceil(0.9 * len(waits)) - 1]
        assert totals["p90_wait_s"] == histogram.upper_edge(histogram.bucket_of(exact))
        assert exact <= totals["p90_wait_s"]
    else:
        assert totals["asa_s"] is None and totals["p90_wait_s"] is None
    assert sum(d["offered"] for d in report["series"]) == len(mine)
    assert sum(b["count"] for b in report["waits"]) == len(waits)


@given(st.lists(st.floats(0, 10000), min_size=1, max_size=200), st.integers(1, 5))
def test_histograms_merge_in_any_grouping(values: list[float], parts: int) -> None:
    whole: histogram.Histogram = []
    for v in values:
        histogram.add(whole, v)
    pieces: list[histogram.Histogram] = [[] for _ in range(parts)]
    for i, v in enumerate(values):
        histogram.add(pieces[i % parts], v)
    assert histogram.merged(pieces) == whole
    assert histogram.quantile(histogram.merged(pieces), 0.9) == histogram.quantile(whole, 0.9)


def test_buckets_and_edges() -> None:
    assert histogram.bucket_of(0) == 0 and histogram.bucket_of(1) == 0
    assert histogram.upper_edge(histogram.bucket_of(1.01)) == 2
    assert histogram.upper_edge(histogram.bucket_of(61)) == 65
    assert histogram.upper_edge(histogram.bucket_of(7200)) == 7200
    assert histogram.upper_edge(histogram.bucket_of(7201)) == math.inf
    assert histogram.quantile([], 0.9) is None


def test_ranges() -> None:
    assert span_of(Period.WEEK, date(2026, 12, 3)) == Span(date(2026, 11, 30), date(2026, 12, 6))
    assert span_of(Period.MONTH, date(2026, 2, 14)) == Span(date(2026, 2, 1), date(2026, 2, 28))
    assert span_of(Period.MONTH, date(2026, 12, 31)).end == date(2026, 12, 31)
    assert span_of(Period.DAY, date(2026, 1, 1)).days == 1
    for start, end, field in ((None, None, "from"), (date(2026, 2, 2), date(2026, 2, 1), "to"),
                              (date(2025, 1, 1), date(2026, 1, 3), "to")):
        try:
            span_of(Period.CUSTOM, date(2026, 1, 1), start, end)
        except RangeError as exc:
            assert exc.field == field
        else:
            raise AssertionError((start, end))


def test_a_shanghai_day_starts_at_1600_utc() -> None:
    late = Contact(id="1", queued_at=datetime(2026, 10, 7, 16, 0, tzinfo=UTC), matched_at=None,
                   ended_at=datetime(2026, 10, 7, 16, 1, tzinfo=UTC), abandoned=True,
                   service="s", region="r", channel="c", agent=None, callback=False, transfers=0)
    assert counts_of(late)[0] == date(2026, 10, 8)
