"""The recording stack of a process that hosts a media worker (roles all and media)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from recordings.recorder import Recorder
from recordings.recovery import recover
from recordings.service import RecordingService
from recordings.storage import LocalRecordingStorage
from server.config import Settings
from server.db import Database

log = logging.getLogger(__name__)


class RecordingStack:
    """Storage, the DB-side service and the worker's packet sink, started and closed in order:
    recover interrupted recordings before the worker takes new ones; on shutdown close the
    worker first (the caller), then the writers, then the service."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.storage = LocalRecordingStorage(settings.data_dir / "recordings")
        self.service = RecordingService(database, self.storage)
        self.recorder = Recorder(self.storage, self.service.on_event)
        self._database = database
        self._closed = False

    async def start(self) -> None:
        for recovered in await recover(self.storage, self._database, datetime.now(UTC)):
            log.warning("recording %s was interrupted: %d segments kept, gap %.1f s",
                        recovered.recording_id, len(recovered.segments), recovered.gap_s)
        await self.service.start()

    async def close(self) -> None:
        """After the media worker has closed; idempotent."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self.recorder.close)
        await self.service.close()
