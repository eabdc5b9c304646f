"""Ratings and follow-ups in the database: a rating and its follow-up are written together."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.db import Database
from server.errors import ParleyError
from server.ratings.models import FollowUp, Rating


class RatingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, rating: Rating, follow_up_due: date | None) -> tuple[Rating, FollowUp | None]:
        follow_up = None
        async with self._db.session() as session:
            session.add(rating)
            try:
                await session.flush()
            except IntegrityError:
                raise ParleyError("already_rated", "已评价 / already rated", 409) from None
            if follow_up_due is not None:
                follow_up = FollowUp(rating_id=rating.id, due=follow_up_due,
                                     created_at=rating.created_at)
                session.add(follow_up)
            await session.commit()
        return rating, follow_up

    async def mine(self, subject_kind: str, subject_id: str, author: str
                   ) -> tuple[Rating, FollowUp | None] | None:
        async with self._db.read_session() as session:
            rating = (await session.scalars(select(Rating).where(
                Rating.subject_kind == subject_kind, Rating.subject_id == subject_id,
                Rating.author == author))).first()
            if rating is None:
                return None
            follow_up = (await session.scalars(select(FollowUp).where(
                FollowUp.rating_id == rating.id))).first()
            return rating, follow_up

    async def of_subjects(self, wanted: list[tuple[str, str]], author_prefix: str
                          ) -> dict[tuple[str, str], tuple[Rating, FollowUp | None]]:
        """Ratings of these (kind, id) subjects by an author whose id starts with
        ``author_prefix`` (citizens: "my cases"), keyed by (kind, id)."""
        if not wanted:
            return {}
        keys = set(wanted)
        async with self._db.read_session() as session:
            rows = await session.execute(
                select(Rating, FollowUp).outerjoin(FollowUp, FollowUp.rating_id == Rating.id)
                .where(Rating.subject_id.in_(sorted({i for _, i in keys}))))
            return {(r.subject_kind, r.subject_id): (r, f) for r, f in rows.all()
                    if (r.subject_kind, r.subject_id) in keys
                    and r.author.startswith(author_prefix)}

    async def follow_ups(self, *, open_only: bool) -> list[tuple[FollowUp, Rating]]:
        query = select(FollowUp, Rating).join(Rating, Rating.id == FollowUp.rating_id)
        if open_only:
            query = query.where(FollowUp.done_at.is_(None))
        async with self._db.read_session() as session:
            rows = await session.execute(query.order_by(FollowUp.due, FollowUp.id))
            return [(f, r) for f, r in rows.all()]

    async def close(self, follow_up_id: int, *, note: str, result: str, by: int, at: datetime) -> bool:
        """Record the call and its result once; False when it is unknown or already done."""
        async with self._db.session() as session:
            done = await session.execute(update(FollowUp).where(
                FollowUp.id == follow_up_id, FollowUp.done_at.is_(None)).values(
                note=note, result=result, done_by=by, done_at=at))
            await session.commit()
            return bool(done.rowcount)  # type: ignore[attr-defined]
