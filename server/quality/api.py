"""REST routes of quality review: draw a sample, review, answer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import or_, select, update

from server.api import principal_of
from server.db import Database
from server.errors import ParleyError, bad_request, not_found
from server.models import Case, User
from server.policy import Action, require
from server.quality.models import QualityReview
from server.quality.sampling import Closed, check_scores, checklist, draw
from server.rest import Route, body_of, register
from server.schemas import Edge

QUALITY_DB_KEY = web.AppKey("quality_db", Database)
QUALITY_CLOCK_KEY: web.AppKey[Callable[[], datetime]] = web.AppKey("quality_clock")

SAMPLE_WINDOW = timedelta(days=30)


class SampleBody(Edge):
    n: int = Field(ge=1, le=100)
    seed: int | None = Field(default=None, ge=0, le=2**62)


class ScoreBody(Edge):
    scores: dict[str, int]
    note: str = Field(default="", max_length=2000)


class AnswerBody(Edge):
    answer: str = Field(min_length=1, max_length=2000)


def review_view(r: QualityReview) -> dict[str, Any]:
    total = sum((r.scores or {}).values())
    return {"id": r.id, "case_id": r.case_id, "handler_id": r.handler_id,
            "reviewer_id": r.reviewer_id, "seed": r.seed, "drawn_at": r.drawn_at.isoformat(),
            "scores": r.scores, "total": total if r.scores else None,
            "max": sum(i["max"] for i in checklist()["items"]), "note": r.note,
            "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
            "answer": r.answer}


async def post_sample(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.QUALITY_DRAW)
    body = await body_of(request, SampleBody)
    db, now = request.app[QUALITY_DB_KEY], request.app[QUALITY_CLOCK_KEY]()
    seed = body.seed if body.seed is not None else secrets.randbelow(2**62)
    async with db.session() as session:
        ended = (await session.execute(select(Case.id, Case.lawyer_id).where(
            Case.status == "ended", Case.lawyer_id.is_not(None),
            Case.ended_at >= now - SAMPLE_WINDOW))).all()
        staff = list(await session.scalars(select(User.id).where(
            User.role.in_(("lawyer", "supervisor")))))
        drawn = draw([Closed(c, h) for c, h in ended if h is not None], staff, body.n, seed)
        rows = [QualityReview(case_id=d.case_id, handler_id=d.handler_id, reviewer_id=d.reviewer_id,
                              drawn_by=int(me.id), seed=seed, drawn_at=now) for d in drawn]
        session.add_all(rows)
        await session.commit()
    return web.json_response({"seed": seed, "checklist": checklist(),
                              "reviews": [review_view(r) for r in rows]}, status=201)


async def get_reviews(request: web.Request) -> web.Response:
    """Reviews the caller must do or that are about their own work."""
    me = principal_of(request)
    require(me, Action.QUALITY_REVIEW)
    async with request.app[QUALITY_DB_KEY].read_session() as session:
        rows = list(await session.scalars(select(QualityReview).where(or_(
            QualityReview.reviewer_id == int(me.id), QualityReview.handler_id == int(me.id)))
            .order_by(QualityReview.id)))
    return web.json_response({"checklist": checklist(), "reviews": [
        {**review_view(r), "mine_to_review": r.reviewer_id == int(me.id)} for r in rows]})


async def post_review(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.QUALITY_REVIEW)
    body = await body_of(request, ScoreBody)
    problem = check_scores(body.scores)
    if problem:
        raise bad_request(problem, "scores")
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
          returns="{seed, reviews}", tag="quality"),
    Route("GET", "/api/quality/reviews", get_reviews, "Quality reviews",
          action=Action.QUALITY_REVIEW, returns="{reviews}", tag="quality"),
    Route("POST", REVIEW, post_review, "Score a case", action=Action.QUALITY_REVIEW,
          body=ScoreBody, returns="The review", errors=("invalid_state",), tag="quality"),
    Route("POST", f"{REVIEW}/answer", post_answer, "Answer a review",
          action=Action.QUALITY_REVIEW, body=AnswerBody, returns="The review",
          errors=("invalid_state",), tag="quality"),
)


def add_quality_routes(app: web.Application, db: Database, clock: Callable[[], datetime]) -> None:
    app[QUALITY_DB_KEY] = db
    app[QUALITY_CLOCK_KEY] = clock
    register(app, QUALITY_ROUTES)
