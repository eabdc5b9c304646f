"""REST routes of ratings and follow-ups (consultations are rated over the socket, case:rate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.errors import forbidden
from server.policy import Action, Principal, require
from server.ratings.models import FollowUp, Rating
from server.ratings.rules import Reason, Subject
from server.ratings.service import Ratings
from server.rest import Route, body_of, query_of, register
from server.schemas import Edge

RATINGS_KEY = web.AppKey("ratings", Ratings)
# subject -> may this principal rate (and read their rating of) this subject?
RATER_CHECK_KEY = web.AppKey("rating_checks", dict)


class MineQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subject_kind: str = Field(default="", max_length=16)
    subject_id: str = Field(default="", max_length=64)


class FollowUpsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    all: str = Field(default="", max_length=1, description="1: closed follow-ups too")


class RatingBody(Edge):
    subject_kind: Literal["mediation", "application"]
    subject_id: str = Field(min_length=1, max_length=48, pattern=r"^[0-9a-f]{32}$")
    score: int = Field(ge=1, le=5)
    reasons: list[Reason] = Field(default_factory=list, max_length=5)
    comment: str | None = Field(default=None, max_length=500)
    complaint: bool = False


class FollowUpBody(Edge):
    note: str = Field(min_length=1, max_length=2000)
    result: Literal["resolved", "explained", "unreachable", "escalated"]


def rating_view(rating: Rating, follow_up: FollowUp | None) -> dict[str, Any]:
    return {
        "id": rating.id, "subject_kind": rating.subject_kind, "subject_id": rating.subject_id,
        "score": rating.score, "reasons": rating.reasons, "comment": rating.comment,
        "complaint": rating.complaint, "at": rating.created_at.isoformat(),
        "follow_up": None if follow_up is None else {
            "id": follow_up.id, "due": follow_up.due.isoformat(),
            "done": follow_up.done_at is not None, "result": follow_up.result,
            "done_at": follow_up.done_at.isoformat() if follow_up.done_at else None},
    }


async def _may_rate(request: web.Request, me: Principal, kind: str, subject_id: str) -> None:
    check: Callable[[Principal, str], Awaitable[bool]] | None = request.app[RATER_CHECK_KEY].get(kind)
    if check is None or not await check(me, subject_id):
        raise forbidden("只有当事人可以评价本案 / only a party of this case may rate it")


async def post_rating(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.RATE_SERVICE)
    body = await body_of(request, RatingBody)
    await _may_rate(request, me, body.subject_kind, body.subject_id)
    rating, follow_up = await request.app[RATINGS_KEY].rate(
        Subject(body.subject_kind), body.subject_id, me.participant_id, body.score, body.reasons,
        body.comment, body.complaint)
    return web.json_response(rating_view(rating, follow_up), status=201)


async def get_mine(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.RATE_SERVICE)
    query = query_of(request, MineQuery)
    kind, subject_id = query.subject_kind, query.subject_id
    if kind not in ("consultation", "mediation", "application"):
        raise forbidden()
    found = await request.app[RATINGS_KEY].repository.mine(kind, subject_id, me.participant_id)
    return web.json_response({"rating": None if found is None else rating_view(*found)})


async def get_follow_ups(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.FOLLOW_UP)
    open_only = query_of(request, FollowUpsQuery).all != "1"
    rows = await request.app[RATINGS_KEY].repository.follow_ups(open_only=open_only)
    return web.json_response({"follow_ups": [rating_view(r, f) for f, r in rows]})


async def post_follow_up(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.FOLLOW_UP)
    body = await body_of(request, FollowUpBody)
    raw = request.match_info["follow_up_id"]
    # ASCII digits that fit the column ('²' and full-width digits, or 300 nines, match nothing).
    follow_up_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1
    await request.app[RATINGS_KEY].close_follow_up(follow_up_id, note=body.note, result=body.result,
                                                   by=int(me.id))
    return web.json_response({"ok": True})


# Every route and the action it performs; the access test checks the actions.
RATING_ROUTES = (
    Route("POST", "/api/ratings", post_rating, "Rate a mediation or an application",
          action=Action.RATE_SERVICE, body=RatingBody, status=201,
          returns="The rating with its follow-up", errors=("invalid_state",), tag="ratings"),
    Route("GET", "/api/ratings/mine", get_mine, "My rating of a subject",
          action=Action.RATE_SERVICE, query=MineQuery, returns="{rating}", tag="ratings"),
    Route("GET", "/api/follow-ups", get_follow_ups, "Follow-ups of low ratings and complaints",
          action=Action.FOLLOW_UP, query=FollowUpsQuery, returns="{follow_ups}",
          tag="ratings"),
    Route("POST", "/api/follow-ups/{follow_up_id}", post_follow_up, "Close a follow-up",
          action=Action.FOLLOW_UP, body=FollowUpBody, returns="{ok: true}",
          errors=("invalid_state",), tag="ratings"),
)


def add_rating_routes(app: web.Application) -> None:
    register(app, RATING_ROUTES)
