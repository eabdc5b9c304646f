"""After a crash: finish what the dead process left behind.

For every recording still marked ``recording`` in the database: a segment still staged
(``.new``: opened a moment before the crash, a few packets at most) is deleted and named in the
chain; each segment left as ``.part`` is read to its end (no decoding), hashed, committed
and stored as a recovered segment; committed segments the database does not know (a crash
between the rename and the insert) are stored too; then the chain records ``interrupted`` and
the ``gap`` from the last packet written to the restart, and the recording is marked
interrupted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from recordings.models import Recording, RecordingStatus
from recordings.probe import probe
from recordings.repository import RecordingRepository, SegmentRow, iso
from recordings.service import store_manifest
from recordings.storage import SEGMENT_SUFFIX, RecordingStorage, SegmentKey, sha256_file
from server.db import Database


@dataclass(frozen=True)
class Recovered:
    recording_id: str
    segments: list[str]  # relative paths stored by the recovery
    last_written: datetime
    gap_s: float


async def recover(storage: RecordingStorage, db: Database, now: datetime) -> list[Recovered]:
    """Mark every interrupted recording and store what it left; run once at start-up, before
    the media worker takes new recordings."""
    repo = RecordingRepository(db)
    discarded = storage.discard_staged()
    partials = storage.partials()
    done = []
    for recording in await repo.with_status(RecordingStatus.RECORDING):
        mine = [k.relpath for k in discarded if k.recording_id == recording.id]
        done.append(await _recover_one(repo, storage, recording, partials, mine, now))
    return done


async def _recover_one(repo: RecordingRepository, storage: RecordingStorage,
                       recording: Recording, partials: list[SegmentKey],
                       discarded: list[str], now: datetime) -> Recovered:
    known = {s.path: s for s in await repo.segments(recording.id)}
    stored: list[str] = []
    for key in [k for k in partials if k.recording_id == recording.id]:
        row = await asyncio.to_thread(_finish_partial, storage, key)
        if row.path not in known:
            await repo.add_segment(recording.id, row, now)
            stored.append(row.path)
    for relpath in storage.files(recording.case_id, recording.id):
        if relpath.endswith(SEGMENT_SUFFIX) and relpath not in known and relpath not in stored:
            row = await asyncio.to_thread(_describe, storage, recording, relpath)
            await repo.add_segment(recording.id, row, now)
            stored.append(relpath)
    segments = await repo.segments(recording.id)
    last_ms = max((s.end_ms for s in segments), default=0)
    last_written = min(recording.started_at + timedelta(milliseconds=last_ms), now)
    gap = (now - last_written).total_seconds()
    await repo.append(recording.id, "interrupted",
                      {"last_written": iso(last_written), "last_ms": last_ms,
                       "detected": iso(now), "recovered_segments": stored,
                       "discarded_unopenable": discarded}, now)
    await repo.append(recording.id, "gap", {"from": iso(last_written), "to": iso(now),
                                            "seconds": round(gap, 3)}, now)
    await repo.set_status(recording.id, RecordingStatus.INTERRUPTED, ended_at=last_written)
    await store_manifest(repo, storage, recording)
    return Recovered(recording.id, stored, last_written, gap)


def _finish_partial(storage: RecordingStorage, key: SegmentKey) -> SegmentRow:
    path = storage.partial_path(key)
    found = probe(path)
    size, digest = sha256_file(path)
    storage.commit(key)
    return SegmentRow(key.participant_id, key.index, key.relpath, size, digest,
                      found.first_ms or 0, found.last_ms or 0, found.codecs, recovered=True,
                      extra={"packets": found.packets, "read_error": found.error})


def _describe(storage: RecordingStorage, recording: Recording, relpath: str) -> SegmentRow:
    path = storage.local_path(recording.case_id, recording.id, relpath)
    found = probe(path)
    size, digest = sha256_file(path)
    participant, name = relpath.split("/", 1)
    index = int(name.removesuffix(SEGMENT_SUFFIX))
    return SegmentRow(participant, index, relpath, size, digest, found.first_ms or 0,
                      found.last_ms or 0, found.codecs, recovered=True,
                      extra={"packets": found.packets, "read_error": found.error})
