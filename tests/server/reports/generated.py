"""Raw facts made up for the report tests: hotline cases with their timeline, ratings and legal
clocks over several weeks, written straight into the tables the aggregation job reads, and the
figures computed from them directly (not through server/reports/tally.py)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.db import Database
from server.models import Case, CaseEvent, User
from server.ratings.models import Rating
from server.registry.models import Application, ApplicationClock
from server.reports import histogram

SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICES = ("consultation", "legal_aid")
REGIONS = ("qz-kecheng", "qz-qujiang", "qz-jiangshan")
MODES = ("video", "audio", "text")
REASONS = ("waited_too_long", "not_understood", "attitude", "not_solved")


@dataclass(frozen=True)
class Raw:
    id: str
    queued_at: datetime
    matched_at: datetime | None
    ended_at: datetime
    abandoned: bool
    callback: bool
    service: str
    region: str
    mode: str
    lawyer: int | None
    transfers: int
    score: int | None
    reasons: tuple[str, ...]
    rated_at: datetime | None


def make(rng: random.Random, start: datetime, weeks: int, n: int, lawyers: list[int],
         end: datetime | None = None) -> list[Raw]:
    """``n`` contacts queued over ``weeks`` weeks from ``start`` (or until ``end``); a tenth of
    them within five minutes of Shanghai midnight (16:00 UTC), on either side."""
    out: list[Raw] = []
    span = (end - start).total_seconds() if end is not None else weeks * 7 * 86400
    for i in range(n):
        if i % 10 == 0:
            day = start + timedelta(days=rng.randrange(max(1, int(span // 86400))))
            midnight = day.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
            queued = midnight.astimezone(UTC) + timedelta(seconds=rng.uniform(-300, 300))
        else:
            queued = start + timedelta(seconds=rng.uniform(0, span))
        callback = rng.random() < 0.1
        abandoned = rng.random() < 0.2
        matched = None if abandoned else queued + timedelta(seconds=rng.expovariate(1 / 50))
        if abandoned and rng.random() < 0.3:  # answered, then the citizen left: not handled
            matched = queued + timedelta(seconds=rng.uniform(0, 30))
        ended = (matched or queued) + timedelta(seconds=rng.uniform(30, 1800))
        rated = not abandoned and rng.random() < 0.5
        score = rng.randint(1, 5) if rated else None
        reasons = tuple(rng.sample(REASONS, rng.randint(0, 2))) if score and score <= 3 else ()
        out.append(Raw(
            id=f"{i:032x}", queued_at=queued, matched_at=matched, ended_at=ended,
            abandoned=abandoned, callback=callback, service=rng.choice(SERVICES),
            region=rng.choice(REGIONS), mode=rng.choice(MODES),
            lawyer=rng.choice(lawyers) if matched else None,
            transfers=rng.choice((0, 0, 0, 1, 2)) if matched else 0, score=score,
            reasons=reasons, rated_at=ended + timedelta(seconds=60) if rated else None))
    return out


async def add_lawyers(db: Database, count: int = 3) -> list[int]:
    async with db.session() as session:
        users = [User(username=f"rl{i}", password_hash="x", role="lawyer", display_name=f"律师{i}",
                      skills={}, languages=["zh"], created_at=datetime.now(UTC))
                 for i in range(count)]
        session.add_all(users)
        await session.commit()
        return [u.id for u in users]


async def write(db: Database, raws: list[Raw]) -> None:
    async with db.session() as session:
        for r in raws:
            session.add(Case(
                id=r.id, status="abandoned" if r.abandoned else "ended", service_type=r.service,
                category="labour", mode=r.mode, citizen_name="张三", citizen_phone="13800000000",
                description="-", region=r.region, language="zh", priority="normal",
                callback=r.callback, callback_requested_at=r.queued_at if r.callback else None,
                created_at=r.queued_at, queued_at=r.queued_at, lawyer_id=r.lawyer,
                matched_at=r.matched_at, ended_at=r.ended_at, notes=""))
        await session.flush()
        for r in raws:
            for _ in range(r.transfers):
                session.add(CaseEvent(case_id=r.id, at=r.matched_at, actor="lawyer",
                                      kind="transferred", data={}))
            if r.score is not None:
                session.add(Rating(subject_kind="consultation", subject_id=r.id, author=r.id,
                                   score=r.score, reasons=list(r.reasons), comment=None,
                                   complaint=r.score == 1, created_at=r.rated_at))
        await session.commit()


async def write_clocks(db: Database, institution: str, dues: list[tuple[date, datetime | None]]
                       ) -> None:
    """One application with a clock per (due, stopped_at)."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.session() as session:
        for i, (due, stopped) in enumerate(dues):
            app_id = f"a{institution[:8]}{i:023d}"
            session.add(Application(
                id=app_id, number=f"{institution}-{i}", item="legal_aid", flow="legal_aid",
                state="review", institution=institution, region="qz-kecheng", category="labour",
                urgent=False, applicant_name="李四", applicant_phone="13900000000", statement="-",
                details={}, filed_as="self", filed_by="citizen", created_at=now, updated_at=now))
            await session.flush()
            session.add(ApplicationClock(application_id=app_id, code="review",
                                         institution=institution, started_at=now, due=due,
                                         warn_days=2, paused=False, stopped_at=stopped))
        await session.commit()


def local(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def expected(raws: list[Raw], start: date, end: date, region: str | None = None) -> dict[str, object]:
    """The report's figures computed straight from the raw contacts queued from ``start`` to
    ``end`` (Shanghai days), and their ratings given in those days."""
    mine = [r for r in raws if start <= local(r.queued_at) <= end
            and (region is None or r.region == region)]
    answered = [r for r in mine if r.matched_at is not None]
    waits = sorted((r.matched_at - r.queued_at).total_seconds() for r in answered)  # type: ignore[operator]
    handled = [r for r in answered if not r.abandoned]
    rated = [r for r in raws if r.rated_at is not None and start <= local(r.rated_at) <= end
             and (region is None or r.region == region)]
    reasons: dict[str, int] = {}
    for r in rated:
        for reason in r.reasons:
            reasons[reason] = reasons.get(reason, 0) + 1
    p90 = None
    if waits:
        raw_p90 = waits[max(1, math.ceil(0.9 * len(waits))) - 1]
        p90 = histogram.upper_edge(histogram.bucket_of(raw_p90))
    queued = len(mine) - sum(r.callback for r in mine)
    abandoned = sum(1 for r in mine if r.abandoned and r.matched_at is None and not r.callback)
    return {
        "offered": len(mine),
        "answered": len(answered),
        "abandoned": abandoned,
        "service_level": (sum(w <= 60 for w in waits) / len(waits)) if waits else None,
        "asa_s": sum(waits) / len(waits) if waits else None,
        "p90_wait_s": p90,
        "abandonment_rate": abandoned / queued if queued else None,
        "aht_s": (sum((r.ended_at - r.matched_at).total_seconds() for r in handled)  # type: ignore[operator]
                  / len(handled)) if handled else None,
        "transfers": sum(r.transfers for r in mine),
        "callbacks": sum(r.callback for r in mine),
        "callbacks_kept": sum(r.callback and r.matched_at is not None for r in mine),
        "ratings": len(rated),
        "avg_rating": sum(r.score for r in rated) / len(rated) if rated else None,  # type: ignore[misc]
        "low_ratings": sum(1 for r in rated if r.score is not None and r.score <= 2),
        "complaints": sum(1 for r in rated if r.score == 1),
        "reasons": dict(sorted(reasons.items())),
    }
