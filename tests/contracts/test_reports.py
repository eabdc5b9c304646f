"""The daily aggregates match the raw events they were folded from (SQLite and PostgreSQL), over
several weeks with contacts on both sides of Asia/Shanghai midnight; the job is idempotent and
resumes after a crash without counting anything twice."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from server.db import Database
from server.reports.job import Aggregator
from server.reports.ranges import Period, Span, span_of
from server.reports.store import ReportStore
from server.reports.summary import build
from server.reports.tally import Dim
from tests.server.reports.generated import (
    REGIONS,
    add_lawyers,
    expected,
    local,
    make,
    write,
    write_clocks,
)

START = datetime(2026, 10, 5, 3, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 4, tzinfo=UTC)


def _close(report: dict[str, object], want: dict[str, object]) -> None:
    for name, value in want.items():
        got = report[name]
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9), name
        else:
            assert got == value, name


async def _report(db: Database, span: Span, dim: Dim = Dim.ALL, key: str = "*") -> dict:
    # As the service reads it: whole months from the month rows, other days from the days.
    loaded = await ReportStore(db).span(span, dim, key)
    return build(loaded.series, loaded.clocks, span, dim, key, loaded.parts)


async def test_aggregates_match_the_raw_events(database: Database) -> None:
    lawyers = await add_lawyers(database)
    raws = make(random.Random(17), START, weeks=5, n=900, lawyers=lawyers)
    await write(database, raws)
    # Small batches: the job loops, each batch its own transaction.
    done = await Aggregator(ReportStore(database), lambda: NOW, batch=150).run()
    assert done.contacts == len(raws)
    assert done.ratings == sum(r.score is not None for r in raws)

    for span in (span_of(Period.MONTH, date(2026, 10, 20)), span_of(Period.WEEK, date(2026, 10, 14)),
                 Span(date(2026, 10, 5), date(2026, 11, 9)), span_of(Period.DAY, date(2026, 10, 21))):
        report = await _report(database, span)
        _close(report["totals"], expected(raws, span.start, span.end))
        # Each day of the series is that day alone: midnight in Shanghai, not in UTC.
        for day in report["series"]:
            d = date.fromisoformat(day["day"])
            assert day["offered"] == expected(raws, d, d)["offered"]
    month = span_of(Period.MONTH, date(2026, 10, 1))
    for region in REGIONS:
        _close((await _report(database, month, Dim.REGION, region))["totals"],
               expected(raws, month.start, month.end, region))
    report = await _report(database, month)
    by_region = {r["key"]: r for r in report["breakdown"]["region"]}
    for region in REGIONS:
        assert by_region[region]["offered"] == expected(raws, month.start, month.end, region)["offered"]
    assert sum(r["offered"] for r in report["breakdown"]["agent"]) == sum(
        1 for r in raws if r.lawyer is not None and month.start <= local(r.queued_at) <= month.end)
    criticism = {c["region"]: c for c in report["criticism"]["regions"]}
    for region in REGIONS:
        assert criticism[region]["reasons"] == expected(raws, month.start, month.end, region)["reasons"]


async def test_a_contact_just_before_shanghai_midnight_counts_on_that_day(database: Database) -> None:
    lawyers = await add_lawyers(database, 1)
    raws = make(random.Random(3), START, weeks=1, n=2, lawyers=lawyers)
    # 15:59:59 UTC is 23:59:59 in Shanghai; 16:00:01 UTC is the next day there (same UTC day).
    before = datetime(2026, 10, 7, 15, 59, 59, tzinfo=UTC)
    after = datetime(2026, 10, 7, 16, 0, 1, tzinfo=UTC)
    left = {"matched_at": None, "abandoned": True, "callback": False, "transfers": 0,
            "score": None, "rated_at": None, "reasons": ()}
    raws = [replace(raws[0], queued_at=before, ended_at=before + timedelta(seconds=5), **left),
            replace(raws[1], queued_at=after, ended_at=after + timedelta(seconds=5), **left)]
    await write(database, raws)
    await Aggregator(ReportStore(database), lambda: NOW).run()
    report = await _report(database, Span(date(2026, 10, 7), date(2026, 10, 8)))
    assert [d["offered"] for d in report["series"]] == [1, 1]


async def test_legal_clocks_kept_and_missed_per_institution(database: Database) -> None:
    due = date(2026, 11, 10)
    await write_clocks(database, "qz-kecheng-legal-aid", [
        (due, datetime(2026, 11, 10, 15, 0, tzinfo=UTC)),  # 23:00 on the due day: kept
        (due, datetime(2026, 11, 10, 16, 30, tzinfo=UTC)),  # 00:30 the day after: missed
        (due, None),  # still running past the due date: missed
        (date(2026, 12, 31), None),  # running, not due: not counted yet
    ])
    job = Aggregator(ReportStore(database), lambda: NOW)
    assert (await job.run()).clocks == 3
    assert (await job.run()).clocks == 0
    report = await _report(database, span_of(Period.MONTH, due))
    assert report["clocks"] == [{"institution": "qz-kecheng-legal-aid", "kept": 1, "missed": 2,
                                 "kept_rate": 1 / 3}]


async def test_the_job_is_idempotent_and_incremental(database: Database) -> None:
    lawyers = await add_lawyers(database)
    raws = make(random.Random(5), START, weeks=3, n=300, lawyers=lawyers)
    first, rest = [r for r in raws if r.ended_at < datetime(2026, 10, 15, tzinfo=UTC)], \
        [r for r in raws if r.ended_at >= datetime(2026, 10, 15, tzinfo=UTC)]
    await write(database, first)
    job = Aggregator(ReportStore(database), lambda: datetime(2026, 10, 15, tzinfo=UTC), batch=40)
    await job.run()
    span = Span(date(2026, 10, 1), date(2026, 11, 1))
    once = await _report(database, span)
    assert (await job.run()).total == 0  # again: nothing new, nothing counted twice
    assert await _report(database, span) == once
    await write(database, rest)
    later = Aggregator(ReportStore(database), lambda: NOW, batch=40)
    await later.run()
    _close((await _report(database, span))["totals"], expected(raws, span.start, span.end))


async def test_the_job_resumes_after_a_crash(database: Database) -> None:
    lawyers = await add_lawyers(database)
    raws = make(random.Random(9), START, weeks=2, n=200, lawyers=lawyers)
    await write(database, raws)
    batches = 0

    def crash_on_the_third() -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise RuntimeError("killed")

    job = Aggregator(ReportStore(database), lambda: NOW, batch=30)
    with pytest.raises(RuntimeError):
        await job.run(before_commit=crash_on_the_third)
    span = Span(date(2026, 10, 1), date(2026, 11, 1))
    partial = (await _report(database, span))["totals"]["offered"]
    assert partial == 60  # two batches committed, the third rolled back whole
    await job.run()
    _close((await _report(database, span))["totals"], expected(raws, span.start, span.end))


async def test_mediations_and_their_ratings_count_for_the_committee(database: Database) -> None:
    from server.mediation.models import MediationCase
    from server.models import User
    from server.ratings.models import Rating

    opened = datetime(2026, 10, 20, 2, tzinfo=UTC)
    async with database.session() as session:
        mediator = User(username="m1", password_hash="x", role="mediator", display_name="调解员",
                        skills={}, languages=["zh"], institution="qz-kecheng-committee",
                        created_at=opened)
        session.add(mediator)
        await session.flush()
        for i, accepted in enumerate((True, True, False)):
            session.add(MediationCase(
                id=f"m{i:031d}", status="settled" if accepted else "refused", category="neighbour",
                statement="-", applicant_name="甲", applicant_phone="13800000001",
                respondent_name="乙", respondent_phone="13800000002", mediator_id=mediator.id,
                created_at=opened, accepted_at=opened if accepted else None,
                closed_at=opened + timedelta(days=3)))
        session.add(MediationCase(  # still open: not counted yet
            id="m" + "9" * 31, status="accepted", category="neighbour", statement="-",
            applicant_name="甲", applicant_phone="13800000001", respondent_name="乙",
            respondent_phone="13800000002", mediator_id=mediator.id, created_at=opened))
        await session.flush()
        session.add(Rating(subject_kind="mediation", subject_id=f"m{0:031d}", author="p1", score=1,
                           reasons=["attitude"], comment="态度差", complaint=True,
                           created_at=opened + timedelta(days=3)))
        await session.commit()
    done = await Aggregator(ReportStore(database), lambda: NOW).run()
    assert (done.mediations, done.ratings) == (3, 1)
    report = await _report(database, span_of(Period.MONTH, opened.date()))
    [committee] = report["breakdown"]["committee"]
    assert committee["key"] == "qz-kecheng-committee"
    assert (committee["offered"], committee["answered"]) == (3, 2)
    assert (committee["ratings"], committee["complaints"], committee["reasons"]) == (1, 1, {"attitude": 1})
    # The hotline's own figures are not mixed with mediations; the rating is in the totals.
    assert report["totals"]["offered"] == 0 and report["totals"]["complaints"] == 1


async def test_quality_reviews_count_for_the_reviewed_lawyer(database: Database) -> None:
    from server.quality.models import QualityReview

    lawyers = await add_lawyers(database, 2)
    raws = make(random.Random(21), START, weeks=1, n=3, lawyers=lawyers[:1])
    raws = [replace(r, matched_at=r.queued_at + timedelta(seconds=20), abandoned=False,
                    lawyer=lawyers[0], score=None, rated_at=None, reasons=()) for r in raws]
    await write(database, raws)
    reviewed = datetime(2026, 10, 21, 3, tzinfo=UTC)
    async with database.session() as session:
        for i, (raw, scores) in enumerate(zip(raws, (
                {"greeting": 2, "identity_check": 2, "legal_accuracy": 3, "options_told": 2,
                 "privacy": 3}, {"greeting": 1, "legal_accuracy": 1}, None), strict=True)):
            session.add(QualityReview(case_id=raw.id, handler_id=lawyers[0], reviewer_id=lawyers[1],
                                      drawn_by=lawyers[1], seed=i, drawn_at=reviewed,
                                      scores=scores, reviewed_at=reviewed if scores else None))
        await session.commit()
    done = await Aggregator(ReportStore(database), lambda: NOW).run()
    assert done.reviews == 2  # the third is drawn, not yet reviewed
    report = await _report(database, span_of(Period.MONTH, reviewed.date()))
    [agent] = report["breakdown"]["agent"]
    assert agent["key"] == str(lawyers[0]) and agent["reviews"] == 2
    assert report["totals"]["review_score"] == pytest.approx((12 + 2) / (2 * 12))
