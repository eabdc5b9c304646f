"""REST routes of ratings and follow-ups (consultations are rated over the socket, case:rate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.api import principal_of, read_json
from server.errors import forbidden
from server.policy import Action, Principal, require
from server.ratings.models import FollowUp, Rating
from server.ratings.rules import Reason, Subject
from server.ratings.service import Ratings
from server.schemas import Edge
from server.validation import parse

RATINGS_KEY = web.AppKey("ratings", Ratings)
# subject -> may this principal rate (and read their rating of) this subject?
RATER_CHECK_KEY = web.AppKey("rating_checks", dict)

RATING_ROUTES: dict[tuple[str, str], Action | None] = {
    ("POST", "/api/ratings"): Action.RATE_SERVICE,
    ("GET", "/api/ratings/mine"): Action.RATE_SERVICE,
    ("GET", "/api/follow-ups"): Action.FOLLOW_UP,
    ("POST", "/api/follow-ups/{follow_up_id}"): Action.FOLLOW_UP,
}


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
    body = parse(RatingBody, await read_json(request))
    await _may_rate(request, me, body.subject_kind, body.subject_id)
    rating, follow_up = await request.app[RATINGS_KEY].rate(
        Subject(body.subject_kind), body.subject_id, me.participant_id, body.score, body.reasons,
        body.comment, body.complaint)
    return web.json_response(rating_view(rating, follow_up), status=201)


async def get_mine(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.RATE_SERVICE)
    kind, subject_id = request.query.get("subject_kind", ""), request.query.get("subject_id", "")
    if kind not in ("consultation", "mediation", "application"):
        raise forbidden()
    found = await request.app[RATINGS_KEY].repository.mine(kind, subject_id, me.participant_id)
    return web.json_response({"rating": None if found is None else rating_view(*found)})


async def get_follow_ups(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.FOLLOW_UP)
    open_only = request.query.get("all") != "1"
    rows = await request.app[RATINGS_KEY].repository.follow_ups(open_only=open_only)
    return web.json_response({"follow_ups": [rating_view(r, f) for f, r in rows]})


async def post_follow_up(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.FOLLOW_UP)
    body = parse(FollowUpBody, await read_json(request))
    try:
        follow_up_id = int(request.match_info["follow_up_id"])
    except ValueError:
        follow_up_id = -1
    await request.app[RATINGS_KEY].close_follow_up(follow_up_id, note=body.note, result=body.result,
                                                   by=int(me.id))
    return web.json_response({"ok": True})


def add_rating_routes(app: web.Application) -> None:
    handlers: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        ("POST", "/api/ratings"): post_rating,
        ("GET", "/api/ratings/mine"): get_mine,
        ("GET", "/api/follow-ups"): get_follow_ups,
        ("POST", "/api/follow-ups/{follow_up_id}"): post_follow_up,
    }
    assert handlers.keys() == RATING_ROUTES.keys()
    for (method, path), handler in handlers.items():
        app.router.add_route(method, path, handler)



