"""The aggregates in the database: reading settled facts since the watermarks, folding them in
with their ledger entries and the new watermarks in one transaction, and reading a span back.

One run at a time: the first statement of every batch updates the job's own watermark row,
which takes the write lock (SQLite) or that row's lock (PostgreSQL) until the batch commits, so
two processes (the server's ticker, ``parley reports aggregate``) never fold the same fact."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.statements import CaseStatus
from server.clocks.clock import local_date
from server.db import Database
from server.mediation.models import MediationCase
from server.models import Case, CaseEvent, User
from server.quality.models import QualityReview
from server.quality.sampling import checklist
from server.ratings.models import Rating
from server.registry.models import Application, ApplicationClock
from server.reports.models import (
    ReportClockDay,
    ReportDay,
    ReportLedger,
    ReportMonth,
    ReportWatermark,
)
from server.reports.ranges import Span
from server.reports.tally import (
    ALL_KEY,
    NUMBER_FIELDS,
    ClockFact,
    ClockKey,
    Contact,
    Counts,
    Dim,
    MediationFact,
    RatingFact,
    ReviewFact,
    RowKey,
    contact_counts,
    fold,
    fold_clocks,
    is_settled,
    mediation_counts,
    rating_counts,
    review_counts,
)

# Facts are read again from this long before the watermark (the ledger skips those counted),
# so one committed late by a slow transaction is still found.
OVERLAP = timedelta(minutes=2)
JOB = "job"
SOURCES = ("contact", "rating", "mediation", "clock", "review")


@dataclass(frozen=True)
class Folded:
    contacts: int = 0
    ratings: int = 0
    mediations: int = 0
    clocks: int = 0
    reviews: int = 0

    @property
    def total(self) -> int:
        return self.contacts + self.ratings + self.mediations + self.clocks + self.reviews

    def __add__(self, other: Folded) -> Folded:
        return Folded(self.contacts + other.contacts, self.ratings + other.ratings,
                      self.mediations + other.mediations, self.clocks + other.clocks,
                      self.reviews + other.reviews)


def _not_counted(source: str, ref: Any) -> Any:
    return ~exists().where(ReportLedger.source == source, ReportLedger.ref == ref)


class ReportStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def fold_batch(self, now: datetime, limit: int,
                         before_commit: Callable[[], None] | None = None) -> Folded:
        """Fold up to ``limit`` facts of each source; all or nothing. ``before_commit`` runs
        just before the commit (tests use it to crash there)."""
        async with self._db.session() as session:
            await self._lock(session, now)
            marks = {w.source: w.at for w in await session.scalars(
                select(ReportWatermark).where(ReportWatermark.source.in_(SOURCES)))}
            contacts = await self._contacts(session, marks.get("contact"), limit)
            ratings = await self._ratings(session, marks.get("rating"), limit)
            mediations = await self._mediations(session, marks.get("mediation"), limit)
            clocks = await self._clocks(session, marks.get("clock"), local_date(now))
            reviews = await self._reviews(session, marks.get("review"), limit)
            rows = fold([*(contact_counts(c) for c, _ in contacts),
                         *(rating_counts(r) for r, _ in ratings),
                         *(mediation_counts(m) for m, _ in mediations),
                         *(review_counts(r) for r, _ in reviews)])
            await self._merge_rows(session, rows)
            await self._merge_clocks(session, fold_clocks(c for c, _ in clocks))
            ledger = [*({"source": "contact", "ref": c.id, "day": local_date(c.queued_at)}
                        for c, _ in contacts),
                      *({"source": "rating", "ref": str(r.id), "day": local_date(r.at)}
                        for r, _ in ratings),
                      *({"source": "mediation", "ref": m.id, "day": local_date(m.created_at)}
                        for m, _ in mediations),
                      *({"source": "clock", "ref": c.ref, "day": local_date(now)}
                        for c, _ in clocks),
                      *({"source": "review", "ref": str(r.id), "day": local_date(r.at)}
                        for r, _ in reviews)]
            if ledger:
                await session.execute(insert(ReportLedger), ledger)
            for source, found in (("contact", contacts), ("rating", ratings),
                                  ("mediation", mediations), ("clock", clocks),
                                  ("review", reviews)):
                await self._advance(session, source, marks.get(source),
                                    [at for _, at in found], now)
            if before_commit is not None:
                before_commit()
            await session.commit()
        return Folded(len(contacts), len(ratings), len(mediations), len(clocks), len(reviews))

    async def _lock(self, session: AsyncSession, now: datetime) -> None:
        done = await session.execute(update(ReportWatermark).where(ReportWatermark.source == JOB)
                                     .values(runs=ReportWatermark.runs + 1, at=now))
        if not done.rowcount:  # type: ignore[attr-defined]
            session.add(ReportWatermark(source=JOB, at=now, runs=1))
            await session.flush()

    async def _advance(self, session: AsyncSession, source: str, mark: datetime | None,
                       seen: Sequence[datetime | None], now: datetime) -> None:
        """The source's watermark: the latest fact folded; with nothing new, the present less
        the overlap (nothing older can still be uncommitted), never moving back."""
        latest = max((at for at in seen if at is not None), default=None)
        candidate = latest if latest is not None else now - OVERLAP
        new = candidate if mark is None else max(mark, candidate)
        if mark is None:
            session.add(ReportWatermark(source=source, at=new, runs=0))
        elif new != mark:
            await session.execute(update(ReportWatermark)
                                  .where(ReportWatermark.source == source).values(at=new))

    # ---- the sources ------------------------------------------------------------------------

    async def _contacts(self, session: AsyncSession, mark: datetime | None, limit: int
                        ) -> list[tuple[Contact, datetime | None]]:
        query = (select(Case.id, Case.queued_at, Case.matched_at, Case.ended_at, Case.status,
                        Case.service_type, Case.region, Case.mode, Case.lawyer_id, Case.callback)
                 .where(Case.status.in_((CaseStatus.ENDED, CaseStatus.ABANDONED)),
                        Case.ended_at.is_not(None), _not_counted("contact", Case.id))
                 .order_by(Case.ended_at, Case.id).limit(limit))
        if mark is not None:
            query = query.where(Case.ended_at >= mark - OVERLAP)
        found = (await session.execute(query)).all()
        transfers: dict[str, int] = {}
        ids = [r.id for r in found]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            transfers.update({case_id: n for case_id, n in (await session.execute(
                select(CaseEvent.case_id, func.count()).where(
                    CaseEvent.case_id.in_(chunk), CaseEvent.kind == "transferred")
                .group_by(CaseEvent.case_id))).all()})
        return [(Contact(
            id=r.id, queued_at=r.queued_at, matched_at=r.matched_at, ended_at=r.ended_at,
            abandoned=r.status == CaseStatus.ABANDONED, service=r.service_type, region=r.region,
            channel=r.mode, agent=None if r.lawyer_id is None else str(r.lawyer_id),
            callback=bool(r.callback), transfers=transfers.get(r.id, 0)), r.ended_at)
            for r in found]

    async def _ratings(self, session: AsyncSession, mark: datetime | None, limit: int
                       ) -> list[tuple[RatingFact, datetime | None]]:
        query = (select(Rating).where(_not_counted("rating", cast(Rating.id, String)))
                 .order_by(Rating.created_at, Rating.id).limit(limit))
        if mark is not None:
            query = query.where(Rating.created_at >= mark - OVERLAP)
        found = list(await session.scalars(query))
        keys = await self._subject_keys(session, found)
        return [(RatingFact(id=r.id, at=r.created_at, score=r.score,
                            reasons=tuple(str(x) for x in (r.reasons or [])),
                            complaint=bool(r.complaint),
                            keys=keys.get((r.subject_kind, r.subject_id), ())), r.created_at)
                for r in found]

    async def _subject_keys(self, session: AsyncSession, ratings: Iterable[Rating]
                            ) -> dict[tuple[str, str], tuple[tuple[Dim, str], ...]]:
        """The keys of each rated case: its service, region, channel and agent or committee."""
        wanted: dict[str, set[str]] = {}
        for r in ratings:
            wanted.setdefault(r.subject_kind, set()).add(r.subject_id)
        out: dict[tuple[str, str], tuple[tuple[Dim, str], ...]] = {}
        if wanted.get("consultation"):
            for row in (await session.execute(select(
                    Case.id, Case.service_type, Case.region, Case.mode, Case.lawyer_id)
                    .where(Case.id.in_(wanted["consultation"])))).all():
                keys = [(Dim.SERVICE, row.service_type), (Dim.REGION, row.region),
                        (Dim.CHANNEL, row.mode)]
                if row.lawyer_id is not None:
                    keys.append((Dim.AGENT, str(row.lawyer_id)))
                out[("consultation", row.id)] = tuple(keys)
        if wanted.get("mediation"):
            for case_id, institution in (await session.execute(
                    select(MediationCase.id, User.institution)
                    .join(User, User.id == MediationCase.mediator_id)
                    .where(MediationCase.id.in_(wanted["mediation"])))).all():
                out[("mediation", case_id)] = ((Dim.SERVICE, "mediation"),
                                               (Dim.COMMITTEE, institution or "-"))
        if wanted.get("application"):
            for app_id, item, region in (await session.execute(
                    select(Application.id, Application.item, Application.region)
                    .where(Application.id.in_(wanted["application"])))).all():
                out[("application", app_id)] = ((Dim.SERVICE, item), (Dim.REGION, region))
        return out

    async def _mediations(self, session: AsyncSession, mark: datetime | None, limit: int
                          ) -> list[tuple[MediationFact, datetime | None]]:
        query = (select(MediationCase.id, MediationCase.created_at, MediationCase.accepted_at,
                        MediationCase.closed_at, User.institution)
                 .join(User, User.id == MediationCase.mediator_id)
                 .where(MediationCase.closed_at.is_not(None),
                        _not_counted("mediation", MediationCase.id))
                 .order_by(MediationCase.closed_at, MediationCase.id).limit(limit))
        if mark is not None:
            query = query.where(MediationCase.closed_at >= mark - OVERLAP)
        return [(MediationFact(r.id, r.created_at, r.accepted_at is not None, r.institution or "-"),
                 r.closed_at) for r in (await session.execute(query)).all()]

    async def _reviews(self, session: AsyncSession, mark: datetime | None, limit: int
                       ) -> list[tuple[ReviewFact, datetime | None]]:
        query = (select(QualityReview.id, QualityReview.reviewed_at, QualityReview.scores,
                        QualityReview.handler_id, Case.service_type, Case.region, Case.mode)
                 .join(Case, Case.id == QualityReview.case_id, isouter=True)
                 .where(QualityReview.reviewed_at.is_not(None),
                        _not_counted("review", cast(QualityReview.id, String)))
                 .order_by(QualityReview.reviewed_at, QualityReview.id).limit(limit))
        if mark is not None:
            query = query.where(QualityReview.reviewed_at >= mark - OVERLAP)
        possible = sum(int(i["max"]) for i in checklist()["items"])
        out = []
        for r in (await session.execute(query)).all():
            keys: list[tuple[Dim, str]] = [(Dim.AGENT, str(r.handler_id))]
            if r.service_type is not None:
                keys += [(Dim.SERVICE, r.service_type), (Dim.REGION, r.region),
                         (Dim.CHANNEL, r.mode)]
            out.append((ReviewFact(r.id, r.reviewed_at, sum((r.scores or {}).values()), possible,
                                   tuple(keys)), r.reviewed_at))
        return out

    async def _clocks(self, session: AsyncSession, mark: datetime | None, today: date
                      ) -> list[tuple[ClockFact, datetime | None]]:
        stopped: Any = ApplicationClock.stopped_at.is_not(None)
        if mark is not None:
            stopped = and_(stopped, ApplicationClock.stopped_at >= mark - OVERLAP)
        lapsed = and_(ApplicationClock.stopped_at.is_(None), ApplicationClock.paused.is_(False),
                      ApplicationClock.due < today)
        found = list(await session.scalars(select(ApplicationClock).where(or_(stopped, lapsed))))
        facts = [ClockFact(ref=f"{c.id}:{c.started_at.isoformat()}", institution=c.institution,
                           code=c.code, due=c.due, stopped_at=c.stopped_at) for c in found]
        refs = [f.ref for f in facts]
        counted: set[str] = set()
        for start in range(0, len(refs), 500):
            counted.update(await session.scalars(select(ReportLedger.ref).where(
                ReportLedger.source == "clock", ReportLedger.ref.in_(refs[start:start + 500]))))
        return [(f, f.stopped_at) for f in facts if f.ref not in counted and is_settled(f, today)]

    # ---- writing the aggregates -------------------------------------------------------------

    async def _merge_rows(self, session: AsyncSession, rows: dict[RowKey, Counts]) -> None:
        """Add ``rows`` to their days and to their months."""
        months: dict[RowKey, Counts] = {}
        for (day, dim, key), counts in rows.items():
            months.setdefault((day.replace(day=1), dim, key), Counts()).add(counts)
        await self._merge(session, ReportDay, ReportDay.day, rows)
        await self._merge(session, ReportMonth, ReportMonth.month, months)

    async def _merge(self, session: AsyncSession, model: type[ReportDay] | type[ReportMonth],
                     period: Any, rows: dict[RowKey, Counts]) -> None:
        if not rows:
            return
        name = period.key
        found: list[Any] = list(await session.scalars(
            select(model).where(period.in_(sorted({day for day, _, _ in rows})))))
        existing = {(getattr(r, name), r.dim, r.key): r for r in found}
        for (day, dim, key), counts in rows.items():
            row = existing.get((day, dim, key))
            if row is None:
                session.add(model(**{name: day}, dim=dim, key=key, **_values(counts)))
                continue
            total = _counts(row).add(counts)
            for column, value in _values(total).items():
                setattr(row, column, value)

    async def _merge_clocks(self, session: AsyncSession,
                            clocks: dict[ClockKey, tuple[int, int]]) -> None:
        if not clocks:
            return
        existing = {(r.day, r.institution, r.code): r for r in await session.scalars(
            select(ReportClockDay).where(ReportClockDay.day.in_(sorted({k[0] for k in clocks}))))}
        for (day, institution, code), (kept, missed) in clocks.items():
            row = existing.get((day, institution, code))
            if row is None:
                session.add(ReportClockDay(day=day, institution=institution, code=code,
                                           kept=kept, missed=missed))
            else:
                row.kept += kept
                row.missed += missed

    # ---- reading ------------------------------------------------------------------------------

    async def span(self, span: Span, dim: Dim = Dim.ALL, key: str = ALL_KEY) -> Loaded:
        """What a report over ``span`` needs: the days of ``dim``/``key`` (its series and
        totals), the breakdown rows of every other key (whole months from the month rows, the
        days of partial months from the day rows) and the clocks of its days."""
        days, months = ReportDay.__table__, ReportMonth.__table__
        whole, partial = split(span)
        async with self._db.reader.connect() as conn:
            series = {(r.day, r.dim, r.key): _counts(r) for r in await conn.execute(
                select(days).where(days.c.day >= span.start, days.c.day <= span.end,
                                   days.c.dim == dim.value, days.c.key == key))}
            parts: list[tuple[str, str, Counts]] = []
            if whole:
                parts += [(r.dim, r.key, _counts(r)) for r in await conn.execute(
                    select(months).where(months.c.month.in_(whole), months.c.dim != Dim.ALL.value))]
            if partial:
                parts += [(r.dim, r.key, _counts(r)) for r in await conn.execute(
                    select(days).where(days.c.dim != Dim.ALL.value, or_(*(
                        and_(days.c.day >= start, days.c.day <= end) for start, end in partial))))]
            clock_table = ReportClockDay.__table__
            clocks = {(r.day, r.institution, r.code): (r.kept, r.missed)
                      for r in await conn.execute(select(clock_table).where(
                          clock_table.c.day >= span.start, clock_table.c.day <= span.end))}
        return Loaded(series, parts, clocks)

    async def updated_at(self) -> datetime | None:
        """When the job last ran."""
        async with self._db.reader.connect() as conn:
            found: datetime | None = (await conn.execute(select(ReportWatermark.at).where(
                ReportWatermark.source == JOB))).scalar_one_or_none()
        return found

    async def names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        ids = [int(a) for a in agent_ids if a.isdigit()]
        if not ids:
            return {}
        async with self._db.reader.connect() as conn:
            rows = (await conn.execute(select(User.id, User.display_name)
                                       .where(User.id.in_(ids)))).all()
        return {str(user_id): name for user_id, name in rows}


@dataclass(frozen=True)
class Loaded:
    series: dict[RowKey, Counts]
    parts: list[tuple[str, str, Counts]]
    clocks: dict[ClockKey, tuple[int, int]]


def split(span: Span) -> tuple[list[date], list[tuple[date, date]]]:
    """The whole months inside ``span`` (their first days) and the day ranges left over."""
    whole: list[date] = []
    partial: list[tuple[date, date]] = []
    first = span.start.replace(day=1)
    while first <= span.end:
        following = (first + timedelta(days=32)).replace(day=1)
        start, end = max(first, span.start), min(following - timedelta(days=1), span.end)
        if start == first and end == following - timedelta(days=1):
            whole.append(first)
        else:
            partial.append((start, end))
        first = following
    return whole, partial


def _values(c: Counts) -> dict[str, Any]:
    return {**{name: getattr(c, name) for name in NUMBER_FIELDS},
            "wait_hist": list(c.wait_hist), "reasons": dict(c.reasons)}


def _counts(row: Any) -> Counts:
    return Counts(**{name: getattr(row, name) for name in NUMBER_FIELDS},
                  wait_hist=list(row.wait_hist or ()), reasons=dict(row.reasons or {}))
