"""REST routes of quality review: draw a sample, review, answer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field, model_validator
from sqlalchemy import select, update

from server.api import principal_of
from server.clocks.clock import CHINA
from server.db import Database
from server.errors import ParleyError, bad_request, not_found
from server.models import Case, User
from server.policy import Action, require
from server.quality.listing import RecordingsByCase, region_of, review_view, visible_reviews
from server.quality.models import QualityReview
from server.quality.sampling import Closed, checklist, draw, score_problem
from server.rest import Route, body_of, register
from server.schemas import Edge

QUALITY_DB_KEY = web.AppKey("quality_db", Database)
QUALITY_CLOCK_KEY: web.AppKey[Callable[[], datetime]] = web.AppKey("quality_clock")
QUALITY_RECORDINGS_KEY: web.AppKey[RecordingsByCase] = web.AppKey("quality_recordings")

SAMPLE_WINDOW = timedelta(days=30)
LONGEST_PERIOD = timedelta(days=366)


class SampleBody(Edge):
    n: int = Field(ge=1, le=100)
    seed: int | None = Field(default=None, ge=0, le=2**62)
    # The period the cases ended in, whole days in China (both included); default the last 30 days.
    since: date | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _period(self) -> SampleBody:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        if self.since and self.until and self.until - self.since > LONGEST_PERIOD:
            raise ValueError("the period is at most a year")
        return self


def period_of(body: SampleBody, now: datetime) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the body's China days, or the last 30 days."""
    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), CHINA)

    start = midnight(body.since) if body.since else now - SAMPLE_WINDOW
    end = midnight(body.until + timedelta(days=1)) if body.until else now
    return start, end


class ScoreBody(Edge):
    scores: dict[str, int]
    note: str = Field(default="", max_length=2000)


class AnswerBody(Edge):
    answer: str = Field(min_length=1, max_length=2000)


async def post_sample(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.QUALITY_DRAW)
    body = await body_of(request, SampleBody)
    db, now = request.app[QUALITY_DB_KEY], request.app[QUALITY_CLOCK_KEY]()
    seed = body.seed if body.seed is not None else secrets.randbelow(2**62)
    start, end = period_of(body, now)
    async with db.session() as session:
        # A supervisor of a region draws among that region's cases.
        region = await region_of(session, me)
        query = select(Case.id, Case.lawyer_id).where(
            Case.status == "ended", Case.lawyer_id.is_not(None),
            Case.ended_at >= start, Case.ended_at < end)
        if region is not None:
            query = query.where(Case.region == region)
        ended = (await session.execute(query)).all()
        staff = list(await session.scalars(select(User.id).where(
            User.role.in_(("lawyer", "supervisor")))))
        drawn = draw([Closed(c, h) for c, h in ended if h is not None], staff, body.n, seed)
        rows = [QualityReview(case_id=d.case_id, handler_id=d.handler_id, reviewer_id=d.reviewer_id,
                              drawn_by=int(me.id), seed=seed, drawn_at=now) for d in drawn]
        session.add_all(rows)
        await session.commit()
    return web.json_response({"seed": seed, "checklist": checklist(), "candidates": len(ended),
                              "since": start.isoformat(), "until": end.isoformat(),
                              "reviews": [review_view(r) for r in rows]}, status=201)


async def get_reviews(request: web.Request) -> web.Response:
    """Reviews the caller must do or that are about their own work; a supervisor's also every
    review of their region (``listing.visible_reviews``), newest first."""
    me = principal_of(request)
    require(me, Action.QUALITY_REVIEW)
    async with request.app[QUALITY_DB_KEY].read_session() as session:
        reviews = await visible_reviews(session, me, request.app[QUALITY_RECORDINGS_KEY])
    return web.json_response({"checklist": checklist(), "reviews": reviews})


async def post_review(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.QUALITY_REVIEW)
    body = await body_of(request, ScoreBody)
    problem = score_problem(body.scores)
    if problem:
        item, message = problem
        # "scores.privacy": the form says it by that item.
        raise bad_request(message, f"scores.{item}" if item else "scores")
    done = await _update(request, QualityReview.reviewer_id == int(me.id),
                         QualityReview.reviewed_at.is_(None),
                         scores=body.scores, note=body.note,
                         reviewed_at=request.app[QUALITY_CLOCK_KEY]())
    if not done:
        raise not_found("没有待您评查的此项 / no such review waiting for you")
    return web.json_response({"ok": True})


async def post_answer(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.QUALITY_REVIEW)
    body = await body_of(request, AnswerBody)
    done = await _update(request, QualityReview.handler_id == int(me.id),
                         QualityReview.reviewed_at.is_not(None), QualityReview.answer.is_(None),
                         answer=body.answer, answered_at=request.app[QUALITY_CLOCK_KEY]())
    if not done:
        raise ParleyError("invalid_state", "评查完成后、且尚未答复时才能答复 / answer a finished review "
                          "once", 409)
    return web.json_response({"ok": True})


async def _update(request: web.Request, *conditions: Any, **values: Any) -> bool:
    raw = request.match_info["review_id"]
    # ASCII digits that fit the column: '²', full-width digits or 300 nines match nothing.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return False
    review_id = int(raw)
    async with request.app[QUALITY_DB_KEY].session() as session:
        result = await session.execute(update(QualityReview).where(
            QualityReview.id == review_id, *conditions).values(**values))
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


REVIEW = "/api/quality/reviews/{review_id}"

# Every route and the action it performs; the access test checks the actions.
QUALITY_ROUTES = (
    Route("POST", "/api/quality/samples", post_sample, "Draw a sample of closed cases",
          action=Action.QUALITY_DRAW, body=SampleBody, status=201,
          returns="{seed, candidates, since, until, reviews}", tag="quality"),
    Route("GET", "/api/quality/reviews", get_reviews, "Quality reviews",
          action=Action.QUALITY_REVIEW, tag="quality",
          returns="{checklist, reviews: [{id, case_id, state, handler_name, reviewer_name, "
                  "region, scores, total, max, note, answer, mine_to_review, mine_to_answer, "
                  "recordings: [{id, page_url}]}]}"),
    Route("POST", REVIEW, post_review, "Score a case", action=Action.QUALITY_REVIEW,
          body=ScoreBody, returns="The review", errors=("invalid_state",), tag="quality"),
    Route("POST", f"{REVIEW}/answer", post_answer, "Answer a review",
          action=Action.QUALITY_REVIEW, body=AnswerBody, returns="The review",
          errors=("invalid_state",), tag="quality"),
)


def add_quality_routes(app: web.Application, db: Database, clock: Callable[[], datetime],
                       recordings_of: RecordingsByCase) -> None:
    app[QUALITY_DB_KEY] = db
    app[QUALITY_CLOCK_KEY] = clock
    app[QUALITY_RECORDINGS_KEY] = recordings_of
    register(app, QUALITY_ROUTES)
