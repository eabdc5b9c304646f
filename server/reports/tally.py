"""What each settled fact adds to the daily aggregates (pure).

A *contact* (one hotline consultation case) counts once, when it has ended or been abandoned, on
the Asia/Shanghai day it was queued. A *rating* or a finished *quality review* counts on the
day it was given, a *legal clock*
on the day it stopped (kept, or missed when it stopped late) or, if it is still running past
its due date, as missed on the day after that date. A mediation counts for its committee on the
day it was opened, once it is closed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from enum import StrEnum

from server.clocks.clock import local_date
from server.reports import histogram
from server.reports.histogram import Histogram

# Answered within this many seconds counts for the service level (as the live figures,
# signaling/hotline/supervision.py Thresholds.service_level_s).
SERVICE_LEVEL_S = 60.0
LOW_SCORE = 2  # as server/ratings/rules.py: 1-2 of 5 is dissatisfied


class Dim(StrEnum):
    """The dimensions a day's figures are kept by; ALL has the one key ``*``."""

    ALL = "all"
    SERVICE = "service"
    REGION = "region"
    CHANNEL = "channel"
    AGENT = "agent"
    COMMITTEE = "committee"


ALL_KEY = "*"
RowKey = tuple[date, str, str]  # (day, dimension, key)


@dataclass
class Counts:
    """The additive figures of one day for one key of one dimension."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_in_sl: int = 0
    wait_sum_s: float = 0.0
    handled: int = 0
    handle_sum_s: float = 0.0
    transfers: int = 0
    callbacks: int = 0
    callbacks_kept: int = 0
    ratings: int = 0
    rating_sum: int = 0
    low_ratings: int = 0
    complaints: int = 0
    reviews: int = 0  # quality reviews (质量评查) finished, their points and the points possible
    review_points: int = 0
    review_max: int = 0
    wait_hist: Histogram = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # reason code -> ratings giving it

    def add(self, other: Counts) -> Counts:
        # Written out: a month's report adds thousands of rows (bench/reports.py).
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.answered_in_sl += other.answered_in_sl
        self.wait_sum_s += other.wait_sum_s
        self.handled += other.handled
        self.handle_sum_s += other.handle_sum_s
        self.transfers += other.transfers
        self.callbacks += other.callbacks
        self.callbacks_kept += other.callbacks_kept
        self.ratings += other.ratings
        self.rating_sum += other.rating_sum
        self.low_ratings += other.low_ratings
        self.complaints += other.complaints
        self.reviews += other.reviews
        self.review_points += other.review_points
        self.review_max += other.review_max
        if other.wait_hist:
            histogram.merge(self.wait_hist, other.wait_hist)
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n
        return self


NUMBER_FIELDS = tuple(f.name for f in fields(Counts) if f.name not in ("wait_hist", "reasons"))


@dataclass(frozen=True)
class Contact:
    """A settled hotline contact, as the cases table and its timeline tell it."""

    id: str
    queued_at: datetime
    matched_at: datetime | None  # the first match (cases.matched_at is kept on a transfer)
    ended_at: datetime
    abandoned: bool
    service: str
    region: str
    channel: str  # the mode: video, audio, text
    agent: str | None  # the lawyer who ended it
    callback: bool
    transfers: int


@dataclass(frozen=True)
class RatingFact:
    id: int
    at: datetime
    score: int
    reasons: tuple[str, ...]
    complaint: bool
    # The rated case's keys per dimension it has (a mediation has a committee, no channel).
    keys: tuple[tuple[Dim, str], ...]


@dataclass(frozen=True)
class MediationFact:
    id: str
    created_at: datetime
    accepted: bool
    committee: str


@dataclass(frozen=True)
class ReviewFact:
    """A finished quality review of a consultation: it counts for the reviewed lawyer."""

    id: int
    at: datetime
    points: int
    max_points: int
    keys: tuple[tuple[Dim, str], ...]


@dataclass(frozen=True)
class ClockFact:
    """A legal clock that is settled: stopped, or running past its due date."""

    ref: str  # the clock's id and the start it was given: a restarted clock counts again
    institution: str
    code: str
    due: date
    stopped_at: datetime | None


ClockKey = tuple[date, str, str]  # (day, institution, clock code)


def contact_counts(contact: Contact) -> tuple[date, Counts, tuple[tuple[Dim, str], ...]]:
    """The contact's day, what it adds and the keys it adds it to."""
    c = Counts(offered=1, callbacks=int(contact.callback), transfers=contact.transfers)
    if contact.matched_at is not None:
        wait = max(0.0, (contact.matched_at - contact.queued_at).total_seconds())
        c.answered = 1
        c.wait_sum_s = wait
        c.answered_in_sl = int(wait <= SERVICE_LEVEL_S)
        histogram.add(c.wait_hist, wait)
        c.callbacks_kept = int(contact.callback)
        if not contact.abandoned:
            c.handled = 1
            c.handle_sum_s = max(0.0, (contact.ended_at - contact.matched_at).total_seconds())
    elif contact.abandoned and not contact.callback:
        c.abandoned = 1  # DOMAIN.md: a callback left in the queue is not an abandoned call
    keys: list[tuple[Dim, str]] = [(Dim.ALL, ALL_KEY), (Dim.SERVICE, contact.service),
                                   (Dim.REGION, contact.region), (Dim.CHANNEL, contact.channel)]
    if contact.agent is not None:
        keys.append((Dim.AGENT, contact.agent))
    return local_date(contact.queued_at), c, tuple(keys)


def rating_counts(rating: RatingFact) -> tuple[date, Counts, tuple[tuple[Dim, str], ...]]:
    c = Counts(ratings=1, rating_sum=rating.score, low_ratings=int(rating.score <= LOW_SCORE),
               complaints=int(rating.complaint))
    for reason in rating.reasons:
        c.reasons[reason] = c.reasons.get(reason, 0) + 1
    return local_date(rating.at), c, ((Dim.ALL, ALL_KEY), *rating.keys)


def mediation_counts(m: MediationFact) -> tuple[date, Counts, tuple[tuple[Dim, str], ...]]:
    return (local_date(m.created_at), Counts(offered=1, answered=int(m.accepted)),
            ((Dim.COMMITTEE, m.committee),))


def review_counts(review: ReviewFact) -> tuple[date, Counts, tuple[tuple[Dim, str], ...]]:
    return (local_date(review.at),
            Counts(reviews=1, review_points=review.points, review_max=review.max_points),
            ((Dim.ALL, ALL_KEY), *review.keys))


def clock_outcome(clock: ClockFact) -> tuple[date, bool]:
    """The day the clock counts on and whether it was kept."""
    if clock.stopped_at is not None:
        stopped = local_date(clock.stopped_at)
        return stopped, stopped <= clock.due
    return clock.due + timedelta(days=1), False


def is_settled(clock: ClockFact, today: date) -> bool:
    return clock.stopped_at is not None or clock.due < today


def fold(items: Iterable[tuple[date, Counts, tuple[tuple[Dim, str], ...]]]
         ) -> dict[RowKey, Counts]:
    """Each item's counts added to every key it names."""
    out: dict[RowKey, Counts] = {}
    for day, counts, keys in items:
        for dim, key in keys:
            out.setdefault((day, dim.value, key), Counts()).add(counts)
    return out


def fold_clocks(clocks: Iterable[ClockFact]) -> dict[ClockKey, tuple[int, int]]:
    """(day, institution, code) -> (kept, missed)."""
    out: dict[ClockKey, tuple[int, int]] = {}
    for clock in clocks:
        day, kept = clock_outcome(clock)
        was = out.get((day, clock.institution, clock.code), (0, 0))
        out[(day, clock.institution, clock.code)] = (was[0] + kept, was[1] + (not kept))
    return out


def days(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end``, both included."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
