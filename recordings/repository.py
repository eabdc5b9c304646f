"""Recording metadata in the database: recordings, segments, the manifest chain, consents and
deletions. Every manifest entry is appended through ``append`` (or with a segment), which
serialises appends per process; the unique (recording, seq) constraint catches any other
writer, and the append is retried on the new head."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from recordings.models import (
    Consent,
    Recording,
    RecordingDeletion,
    RecordingEvent,
    RecordingSegment,
    RecordingStatus,
)
from server.db import Database
from server.hashchain import Entry, next_entry

APPEND_ATTEMPTS = 5


def iso(at: datetime) -> str:
    """The one timestamp form manifests hash."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def new_recording_id() -> str:
    return "rec" + secrets.token_hex(8)


@dataclass(frozen=True)
class SegmentRow:
    """What ``add_segment`` stores (and states in the chain)."""

    participant_id: str
    seq: int
    path: str
    size: int
    sha256: str
    start_ms: int
    end_ms: int
    codecs: Mapping[str, Any]
    recovered: bool = False
    extra: Mapping[str, Any] | None = None  # drops, reason: stated in the chain only


class RecordingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._append_lock = asyncio.Lock()

    async def create(self, case_id: str, room_id: str, participants: Sequence[str],
                     now: datetime, recording_id: str | None = None) -> Recording:
        recording = Recording(id=recording_id or new_recording_id(), case_id=case_id,
                              room_id=room_id, status=RecordingStatus.RECORDING, started_at=now,
                              ended_at=None, participants=list(participants))
        async with self._db.session() as session, session.begin():
            session.add(recording)
        return recording

    async def get(self, recording_id: str) -> Recording | None:
        async with self._db.session() as session:
            return await session.get(Recording, recording_id)

    async def with_status(self, status: str) -> list[Recording]:
        async with self._db.session() as session:
            rows = await session.scalars(select(Recording).where(Recording.status == status)
                                         .order_by(Recording.started_at))
            return list(rows)

    async def for_case(self, case_id: str) -> list[Recording]:
        async with self._db.read_session() as session:
            rows = await session.scalars(select(Recording).where(Recording.case_id == case_id)
                                         .order_by(Recording.started_at))
            return list(rows)

    async def ended_before(self, before: datetime) -> list[Recording]:
        """Finished recordings (complete or interrupted) that ended before ``before``."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Recording)
                .where(Recording.status.in_([RecordingStatus.COMPLETE,
                                             RecordingStatus.INTERRUPTED]))
                .where(Recording.ended_at < before)
                .order_by(Recording.ended_at))
            return list(rows)

    async def set_status(self, recording_id: str, status: str,
                         ended_at: datetime | None = None) -> None:
        async with self._db.session() as session, session.begin():
            recording = await session.get(Recording, recording_id)
            if recording is None:
                raise KeyError(recording_id)
            recording.status = status
            if ended_at is not None:
                recording.ended_at = ended_at

    async def set_participants(self, recording_id: str, participants: Sequence[str]) -> None:
        async with self._db.session() as session, session.begin():
            recording = await session.get(Recording, recording_id)
            if recording is None:
                raise KeyError(recording_id)
            recording.participants = list(participants)

    # -- the manifest chain -----------------------------------------------------------------

    async def append(self, recording_id: str, kind: str, data: Mapping[str, Any],
                     at: datetime) -> Entry:
        """Append one manifest entry after the current head."""
        return await self._appending(recording_id, kind, data, at, None)

    async def add_segment(self, recording_id: str, segment: SegmentRow, at: datetime) -> Entry:
        """Store a closed segment and its ``segment`` entry in one transaction."""
        data = {"path": segment.path, "participant_id": segment.participant_id,
                "index": segment.seq, "size": segment.size, "sha256": segment.sha256,
                "start_ms": segment.start_ms, "end_ms": segment.end_ms,
                "codecs": dict(segment.codecs), "recovered": segment.recovered,
                **(segment.extra or {})}
        row = RecordingSegment(recording_id=recording_id, participant_id=segment.participant_id,
                               seq=segment.seq, path=segment.path, size=segment.size,
                               sha256=segment.sha256, start_ms=segment.start_ms,
                               end_ms=segment.end_ms, codecs=dict(segment.codecs),
                               recovered=segment.recovered, closed_at=at)
        return await self._appending(recording_id, "segment", data, at, row)

    async def _appending(self, recording_id: str, kind: str, data: Mapping[str, Any],
                         at: datetime, row: RecordingSegment | None) -> Entry:
        async with self._append_lock:
            for attempt in range(APPEND_ATTEMPTS):
                try:
                    async with self._db.session() as session, session.begin():
                        head = await self._head(session, recording_id)
                        entry = next_entry(head, iso(at), kind, data)
                        session.add(RecordingEvent(recording_id=recording_id, seq=entry.seq,
                                                   at=entry.at, kind=entry.kind,
                                                   data=dict(entry.data), prev=entry.prev,
                                                   hash=entry.hash))
                        if row is not None:
                            session.add(row)
                    return entry
                except IntegrityError:
                    if attempt == APPEND_ATTEMPTS - 1 or (row is not None and await self._has(
                            recording_id, row.path)):
                        raise
                    row = _copy(row)
        raise AssertionError("unreachable")

    async def _has(self, recording_id: str, path: str) -> bool:
        async with self._db.session() as session:
            found = await session.scalar(select(RecordingSegment.id).where(
                RecordingSegment.recording_id == recording_id, RecordingSegment.path == path))
            return found is not None

    @staticmethod
    async def _head(session: AsyncSession, recording_id: str) -> Entry | None:
        row = await session.scalar(select(RecordingEvent)
                                   .where(RecordingEvent.recording_id == recording_id)
                                   .order_by(RecordingEvent.seq.desc()).limit(1))
        return _entry(row) if row is not None else None

    async def entries(self, recording_id: str) -> list[Entry]:
        async with self._db.session() as session:
            rows = await session.scalars(select(RecordingEvent)
                                         .where(RecordingEvent.recording_id == recording_id)
                                         .order_by(RecordingEvent.seq))
            return [_entry(row) for row in rows]

    async def segments(self, recording_id: str) -> list[RecordingSegment]:
        async with self._db.session() as session:
            rows = await session.scalars(select(RecordingSegment)
                                         .where(RecordingSegment.recording_id == recording_id)
                                         .order_by(RecordingSegment.participant_id,
                                                   RecordingSegment.seq))
            return list(rows)

    # -- consents and deletions ---------------------------------------------------------------

    async def add_consent(self, *, case_id: str, room_id: str | None, participant_id: str,
                          role: str, decision: str, text_shown: str, text_version: str,
                          decided_at: datetime, purpose: str = "recording") -> Consent:
        if decision not in ("granted", "refused"):
            raise ValueError(f"decision must be granted or refused, got {decision!r}")
        consent = Consent(case_id=case_id, room_id=room_id, participant_id=participant_id,
                          role=role, purpose=purpose, decision=decision, text_shown=text_shown,
                          text_version=text_version, decided_at=decided_at)
        async with self._db.session() as session, session.begin():
            session.add(consent)
        return consent

    async def consents(self, case_id: str, purpose: str = "recording") -> list[Consent]:
        async with self._db.read_session() as session:
            rows = await session.scalars(select(Consent)
                                         .where(Consent.case_id == case_id,
                                                Consent.purpose == purpose)
                                         .order_by(Consent.id))
            return list(rows)

    async def add_deletion(self, deletion: RecordingDeletion) -> None:
        async with self._db.session() as session, session.begin():
            session.add(deletion)

    async def deletions(self, recording_id: str) -> list[RecordingDeletion]:
        async with self._db.session() as session:
            rows = await session.scalars(select(RecordingDeletion)
                                         .where(RecordingDeletion.recording_id == recording_id)
                                         .order_by(RecordingDeletion.id))
            return list(rows)


def _entry(row: RecordingEvent) -> Entry:
    return Entry(row.seq, row.at, row.kind, dict(row.data), row.prev, row.hash)


def _copy(row: RecordingSegment | None) -> RecordingSegment | None:
    # A row object that failed to insert is bound to its dead session; retry with a fresh one.
    if row is None:
        return None
    return RecordingSegment(**{c: getattr(row, c) for c in
                               ("recording_id", "participant_id", "seq", "path", "size", "sha256",
                                "start_ms", "end_ms", "codecs", "recovered", "closed_at")})
