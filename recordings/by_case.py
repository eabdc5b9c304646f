"""The recordings of a few cases at once, for pages that list cases with what to play (the
quality review's list: one query, not one per row)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recordings.models import Recording


async def recordings_by_case(session: AsyncSession, case_ids: Sequence[str]
                             ) -> dict[str, list[dict[str, str]]]:
    """Case id -> its recordings, oldest first: id, status and the playback page."""
    if not case_ids:
        return {}
    out: dict[str, list[dict[str, str]]] = {}
    rows = await session.execute(select(Recording.id, Recording.case_id, Recording.status)
                                 .where(Recording.case_id.in_(set(case_ids)))
                                 .order_by(Recording.started_at))
    for rec_id, case_id, status in rows.all():
        out.setdefault(case_id, []).append({"id": rec_id, "status": status,
                                            "page_url": f"/recordings/{rec_id}"})
    return out
