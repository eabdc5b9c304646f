"""Which quality reviews a caller sees, and what the pages show of each: names, the case's
region and the recordings to play (one query each, not one per row)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database
from server.models import Case, User
from server.policy import Principal, Role
from server.quality.models import QualityReview
from server.quality.sampling import checklist

# Case ids -> their recordings to play (``recordings.by_case``; recordings sit above this layer,
# so the composition root hands it in).
RecordingsByCase = Callable[[AsyncSession, Sequence[str]],
                            Awaitable[dict[str, list[dict[str, str]]]]]


def state_of(r: QualityReview) -> str:
    """waiting (to be scored), reviewed (scored, not answered), answered."""
    if r.reviewed_at is None:
        return "waiting"
    return "reviewed" if r.answer is None else "answered"


def review_view(r: QualityReview) -> dict[str, Any]:
    total = sum((r.scores or {}).values())
    return {"id": r.id, "case_id": r.case_id, "handler_id": r.handler_id,
            "reviewer_id": r.reviewer_id, "seed": r.seed, "drawn_at": r.drawn_at.isoformat(),
            "scores": r.scores, "total": total if r.scores else None,
            "max": sum(i["max"] for i in checklist()["items"]), "note": r.note,
            "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
            "answer": r.answer,
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            "state": state_of(r)}


async def is_reviewer_of(db: Database, me: Principal, case_id: str) -> bool:
    """Whether ``me`` is drawn to review ``case_id`` (recordings.api lets them watch it)."""
    if not me.id.isascii() or not me.id.isdigit() or me.role not in (Role.LAWYER, Role.SUPERVISOR):
        return False
    async with db.read_session() as session:
        found = await session.scalar(select(QualityReview.id).where(
            QualityReview.case_id == case_id, QualityReview.reviewer_id == int(me.id)).limit(1))
    return found is not None


async def region_of(session: AsyncSession, me: Principal) -> str | None:
    """A supervisor's region (None: a supervisor of every region)."""
    user = await session.get(User, int(me.id))
    return user.region if user else None


async def visible_reviews(session: AsyncSession, me: Principal, recordings_of: RecordingsByCase
                          ) -> list[dict[str, Any]]:
    """A lawyer: the reviews they must do and those of their own work. A supervisor: also every
    review of a case in their region (all regions when they have none)."""
    mine = or_(QualityReview.reviewer_id == int(me.id), QualityReview.handler_id == int(me.id))
    query = select(QualityReview, Case.region).join(Case, Case.id == QualityReview.case_id,
                                                    isouter=True)
    if me.role is Role.SUPERVISOR:
        region = await region_of(session, me)
        if region is not None:
            query = query.where(or_(mine, Case.region == region))
    else:
        query = query.where(mine)
    rows = (await session.execute(query.order_by(QualityReview.id.desc()).limit(500))).all()
    reviews = [r for r, _ in rows]
    names = await _names(session, {i for r in reviews for i in (r.handler_id, r.reviewer_id)})
    recordings = await recordings_of(session, [r.case_id for r in reviews])
    return [{**review_view(r), "region": region,
             "handler_name": names.get(r.handler_id, ""),
             "reviewer_name": names.get(r.reviewer_id, ""),
             "about_me": r.handler_id == int(me.id),
             "mine_to_review": r.reviewer_id == int(me.id) and r.reviewed_at is None,
             "mine_to_answer": (r.handler_id == int(me.id) and r.reviewed_at is not None
                                and r.answer is None),
             "recordings": recordings.get(r.case_id, [])} for r, region in rows]


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {i: name for i, name in rows.all()}
