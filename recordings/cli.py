"""``parley verify …`` and ``parley recordings purge``: functions the CLI calls; each prints
its result and returns the exit code (0 OK, 1 a problem found)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from recordings.retention import purge_expired
from recordings.storage import LocalRecordingStorage
from recordings.verify import verify_path as _verify_path
from recordings.verify import verify_stored
from server.config import Settings
from server.db import Database

DEFAULT_RETENTION_DAYS = 365


def storage_for(settings: Settings) -> LocalRecordingStorage:
    return LocalRecordingStorage(settings.data_dir / "recordings")


def retention_days(settings: Settings) -> int:
    """``Settings.recording_retention_days`` once the integrator adds it; a year until then."""
    value = getattr(settings, "recording_retention_days", DEFAULT_RETENTION_DAYS)
    return int(value)


def verify_recording(settings: Settings, recording_id: str) -> int:
    """``parley verify recording ID``."""
    async def run() -> int:
        db = Database(settings.database_url)
        try:
            report = await verify_stored(db, storage_for(settings), recording_id)
        finally:
            await db.close()
        print(report.render())
        return 0 if report.ok else 1

    return asyncio.run(run())


def verify_path(path: Path) -> int:
    """``parley verify PATH``: an exported folder or zip, offline (no database)."""
    report = _verify_path(path)
    print(report.render())
    return 0 if report.ok else 1


def purge(settings: Settings, now: datetime) -> int:
    """``parley recordings purge``: delete expired recordings, one line per deletion."""
    async def run() -> int:
        db = Database(settings.database_url)
        try:
            purged = await purge_expired(db, storage_for(settings), now,
                                         retention_days(settings))
        finally:
            await db.close()
        for item in purged:
            print(f"purged recording {item.recording_id} of case {item.case_id} "
                  f"({len(item.files)} files)")
        print(f"{len(purged)} recording(s) purged")
        return 0

    return asyncio.run(run())
