"""Retention: delete recordings whose files are older than the retention, keeping a record.

The recording row and its chain stay (status ``purged``), plus a ``recording_deletions`` row
naming every deleted file and the chain's head at deletion, so the deletion itself can be
shown later.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from recordings.models import RecordingDeletion, RecordingStatus
from recordings.repository import RecordingRepository
from recordings.storage import RecordingStorage
from server.db import Database


@dataclass(frozen=True)
class Purged:
    recording_id: str
    case_id: str
    files: list[str]


def cutoff(now: datetime, retention_days: int) -> datetime:
    """Recordings that ended before this are expired."""
    if retention_days < 1:
        raise ValueError("retention must be at least one day")
    return now - timedelta(days=retention_days)


async def purge_expired(db: Database, storage: RecordingStorage, now: datetime,
                        retention_days: int) -> list[Purged]:
    """Delete every finished recording that ended more than ``retention_days`` ago."""
    repo = RecordingRepository(db)
    purged = []
    for recording in await repo.ended_before(cutoff(now, retention_days)):
        entries = await repo.entries(recording.id)
        files = await asyncio.to_thread(storage.delete, recording.case_id, recording.id)
        await repo.add_deletion(RecordingDeletion(
            recording_id=recording.id, case_id=recording.case_id, deleted_at=now,
            reason="retention", retention_days=retention_days, files=files,
            manifest_head=entries[-1].hash if entries else ""))
        await repo.set_status(recording.id, RecordingStatus.PURGED)
        purged.append(Purged(recording.id, recording.case_id, files))
    return purged
