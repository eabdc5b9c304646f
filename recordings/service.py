"""The database side of recording, on the event loop: consents, the start and end of a
recording, and the events the recorder's writer threads report (closed segments, finished
participants), each written to the manifest chain and the stored ``manifest.json`` at once.

The media side is driven by the worker messages (``StartRecording`` …) that the integrator
sends next to these calls; docs/recording.md shows the order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from recordings.manifest import render
from recordings.models import Recording, RecordingStatus
from recordings.repository import RecordingRepository, SegmentRow
from recordings.storage import MANIFEST, RecordingStorage
from recordings.writer import ParticipantFinished, SegmentClosed, WriterEvent
from server.db import Database
from server.errors import ParleyError

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConsentMissing(ParleyError):
    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("consent_missing",
                         f"no recorded consent from: {', '.join(sorted(missing))}", 409)
        self.missing = list(missing)


async def store_manifest(repo: RecordingRepository, storage: RecordingStorage,
                         recording: Recording) -> dict[str, object]:
    """Render the manifest from the database and store it atomically beside the media."""
    entries = await repo.entries(recording.id)
    document = render({"id": recording.id, "case_id": recording.case_id,
                       "room_id": recording.room_id}, entries)
    data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode()
    await asyncio.to_thread(storage.put, recording.case_id, recording.id, MANIFEST, data)
    return document


class RecordingService:
    """Owns the repository side of recordings; ``on_event`` is the recorder's callback and may
    be called from any thread once ``start`` has run."""

    def __init__(self, db: Database, storage: RecordingStorage,
                 wall: Callable[[], datetime] = utcnow) -> None:
        self.repo = RecordingRepository(db)
        self.storage = storage
        self._wall = wall
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[WriterEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, set[str]] = {}  # recording -> participants still writing
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = asyncio.ensure_future(self._consume())

    async def close(self) -> None:
        """Persist what is queued, then stop; idempotent."""
        if self._task is None:
            return
        await self._inbox.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def on_event(self, event: WriterEvent) -> None:
        """Thread-safe: hand a writer event to the event loop."""
        if self._loop is None:
            raise RuntimeError("RecordingService.start() has not run")
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, event)

    # -- consent and lifecycle ------------------------------------------------------------------

    async def record_consent(self, *, case_id: str, room_id: str | None, participant_id: str,
                             role: str, decision: str, text_shown: str, text_version: str,
                             now: datetime) -> None:
        """Write one decision to the consent ledger (granted or refused)."""
        await self.repo.add_consent(case_id=case_id, room_id=room_id,
                                    participant_id=participant_id, role=role, decision=decision,
                                    text_shown=text_shown, text_version=text_version,
                                    decided_at=now)

    async def _consents_for(self, case_id: str, participants: Sequence[str]
                            ) -> list[dict[str, object]]:
        latest = {c.participant_id: c for c in await self.repo.consents(case_id)}
        missing = [p for p in participants
                   if p not in latest or latest[p].decision != "granted"]
        if missing:
            raise ConsentMissing(missing)
        return [{"participant_id": p, "role": latest[p].role, "decision": "granted",
                 "decided_at": latest[p].decided_at.isoformat(),
                 "text_version": latest[p].text_version, "text_shown": latest[p].text_shown}
                for p in participants]

    async def begin(self, case_id: str, room_id: str, participants: Sequence[str],
                    now: datetime | None = None) -> Recording:
        """Create the recording once every participant's latest decision is a grant (else
        ``ConsentMissing``); then send ``StartRecording`` with its id to the worker."""
        now = now or self._wall()
        consents = await self._consents_for(case_id, participants)
        recording = await self.repo.create(case_id, room_id, participants, now)
        await self.repo.append(recording.id, "started",
                               {"recording_id": recording.id, "case_id": case_id,
                                "room_id": room_id}, now)
        for consent in consents:
            await self.repo.append(recording.id, "consent", consent, now)
        for pid in participants:
            await self.repo.append(recording.id, "participant_started",
                                   {"participant_id": pid, "at_ms": 0}, now)
        self._running[recording.id] = set(participants)
        await store_manifest(self.repo, self.storage, recording)
        return recording

    async def add_participants(self, recording_id: str, participants: Sequence[str],
                               now: datetime | None = None) -> None:
        """Someone joined and consented: call before re-sending ``StartRecording`` with them."""
        now = now or self._wall()
        recording = await self._get(recording_id)
        new = [p for p in participants if p not in recording.participants]
        for consent in await self._consents_for(recording.case_id, new):
            await self.repo.append(recording_id, "consent", consent, now)
        for pid in new:
            await self.repo.append(recording_id, "participant_started",
                                   {"participant_id": pid, "at_ms": _ms(recording, now)}, now)
        self._running.setdefault(recording_id, set()).update(new)
        await self.repo.set_participants(recording_id, [*recording.participants, *new])

    async def note(self, recording_id: str, kind: str, data: dict[str, object] | None = None,
                   now: datetime | None = None) -> None:
        """A timeline entry: ``paused``, ``resumed``, ``joined``, ``left``, later ``caucus``."""
        now = now or self._wall()
        recording = await self._get(recording_id)
        await self.repo.append(recording_id, kind,
                               {**(data or {}), "at_ms": _ms(recording, now)}, now)

    async def end(self, recording_id: str, now: datetime | None = None,
                  wait_s: float = 30.0) -> Recording:
        """After ``StopRecording``: wait until every participant's last segment is stored, then
        close the chain (``ended``) and mark the recording complete."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: not self._running.get(recording_id)), wait_s)
        self._running.pop(recording_id, None)
        now = now or self._wall()
        recording = await self._get(recording_id)
        if recording.status != RecordingStatus.RECORDING:
            # Interrupted (a restart cut it; recovery closed its chain): it never becomes
            # complete, and its chain gets no "ended" after the "interrupted".
            return recording
        await self.repo.append(recording_id, "ended", {"at_ms": _ms(recording, now)}, now)
        await self.repo.set_status(recording_id, RecordingStatus.COMPLETE, ended_at=now)
        await store_manifest(self.repo, self.storage, recording)
        return await self._get(recording_id)

    async def _get(self, recording_id: str) -> Recording:
        recording = await self.repo.get(recording_id)
        if recording is None:
            raise ParleyError("not_found", f"no recording {recording_id!r}", 404)
        return recording

    # -- writer events ----------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._persist(event)
            except Exception:
                logger.exception("recording event %s could not be stored", event)
            finally:
                self._inbox.task_done()

    async def _persist(self, event: WriterEvent) -> None:
        now = self._wall()
        if isinstance(event, SegmentClosed):
            key = event.key
            await self.repo.add_segment(key.recording_id, SegmentRow(
                key.participant_id, key.index, key.relpath, event.size, event.sha256,
                event.start_ms, event.end_ms, event.codecs,
                extra={"dropped": event.dropped, "reason": event.reason}), now)
        elif isinstance(event, ParticipantFinished):
            recording = await self._get(event.recording_id)
            await self.repo.append(event.recording_id, "participant_stopped", {
                "participant_id": event.participant_id, "at_ms": _ms(recording, now),
                "segments": event.segments, "dropped": event.dropped,
                "skipped_until_keyframe": event.skipped_until_keyframe,
                "errors": event.errors}, now)
            async with self._changed:
                self._running.get(event.recording_id, set()).discard(event.participant_id)
                self._changed.notify_all()
        recording = await self._get(event.recording_id if isinstance(event, ParticipantFinished)
                                    else event.key.recording_id)
        await store_manifest(self.repo, self.storage, recording)


def _ms(recording: Recording, now: datetime) -> int:
    return max(0, round((now - recording.started_at).total_seconds() * 1000))
