"""Rate a case, open the follow-up a low rating needs, and record the follow-up on the case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from server.clocks import WorkingCalendar
from server.errors import not_found
from server.ratings.models import FollowUp, Rating
from server.ratings.repository import RatingRepository
from server.ratings.rules import Reason, Subject, follow_up_due, needs_follow_up

# subject kind -> writes an entry on that case's timeline (case id, actor, kind, data, at).
Timeline = Callable[[str, str, str, dict[str, Any], datetime], Awaitable[None]]


class Ratings:
    def __init__(self, repository: RatingRepository, calendar: WorkingCalendar,
                 now: Callable[[], datetime], timelines: Mapping[Subject, Timeline]) -> None:
        self.repository = repository
        self._calendar = calendar
        self._now = now
        self._timelines = timelines

    async def rate(self, subject: Subject, subject_id: str, author: str, score: int,
                   reasons: list[Reason], comment: str | None, complaint: bool
                   ) -> tuple[Rating, FollowUp | None]:
        now = self._now()
        rating = Rating(subject_kind=subject.value, subject_id=subject_id, author=author,
                        score=score, reasons=[r.value for r in reasons], comment=comment,
                        complaint=complaint, created_at=now)
        due = follow_up_due(now, self._calendar) if needs_follow_up(score, complaint) else None
        return await self.repository.add(rating, due)

    async def close_follow_up(self, follow_up_id: int, *, note: str, result: str, by: int) -> None:
        now = self._now()
        if not await self.repository.close(follow_up_id, note=note, result=result, by=by, at=now):
            raise not_found("回访任务不存在或已完成 / no such open follow-up")
        for follow_up, rating in await self.repository.follow_ups(open_only=False):
            if follow_up.id == follow_up_id:
                write = self._timelines.get(Subject(rating.subject_kind))
                if write is not None:
                    await write(rating.subject_id, f"supervisor-{by}", "follow_up",
                                {"rating_id": rating.id, "result": result, "note": note}, now)
                return
