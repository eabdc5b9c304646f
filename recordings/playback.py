"""What the playback page needs: per participant, the segment files on the recording's common
timeline, and the timeline of joins, leaves, pauses and (later) caucus segments.

Pure rendering of database rows for one viewer: a segment the viewer may not receive at all
(a caucus they were shut out of, ``recordings.privacy``) is left out, one they may receive in
part is marked ``redacted`` (its file is then served cut to the allowed ranges). The route that
serves it turns ``path`` into a short-lived signed URL and streams the file from storage.
"""

from __future__ import annotations

from typing import Any

from recordings.privacy import Viewer, coverage, visible_ranges
from recordings.repository import RecordingRepository
from server.db import Database

TIMELINE_KINDS = ("participant_started", "participant_stopped", "paused", "resumed", "joined",
                  "left", "caucus_started", "caucus_ended", "interrupted", "gap", "ended")


async def playback_data(db: Database, recording_id: str, *, viewer: Viewer
                        ) -> dict[str, Any] | None:
    """The playback JSON as ``viewer`` may see it, or None when there is no such recording.
    Offsets are milliseconds since the recording started; every file's timestamps are already
    on that clock."""
    repo = RecordingRepository(db)
    recording = await repo.get(recording_id)
    if recording is None:
        return None
    entries = await repo.entries(recording_id)
    segments = await repo.segments(recording_id)
    lanes = [*recording.participants, *(s.participant_id for s in segments)]
    ranges = visible_ranges([e.to_dict() for e in entries], lanes, viewer)
    tracks: dict[str, list[dict[str, Any]]] = {p: [] for p in recording.participants}
    for segment in segments:
        seen = coverage(ranges.get(segment.participant_id, []), segment.start_ms, segment.end_ms)
        if seen == "none":
            continue
        tracks.setdefault(segment.participant_id, []).append({
            "path": segment.path, "start_ms": segment.start_ms, "end_ms": segment.end_ms,
            "size": segment.size, "sha256": segment.sha256, "codecs": segment.codecs,
            "redacted": seen == "part"})
    timeline = [{"kind": e.kind, "at": e.at, **{k: v for k, v in e.data.items()
                                                if k in ("participant_id", "at_ms", "seconds",
                                                         "last_ms", "group")}}
                for e in entries if e.kind in TIMELINE_KINDS]
    end_ms = max((s["end_ms"] for segs in tracks.values() for s in segs), default=0)
    return {"recording": {"id": recording.id, "case_id": recording.case_id,
                          "room_id": recording.room_id, "status": recording.status,
                          "started_at": recording.started_at.isoformat(),
                          "ended_at": recording.ended_at.isoformat() if recording.ended_at
                          else None, "duration_ms": end_ms},
            "participants": [{"participant_id": p, "segments": segs}
                             for p, segs in tracks.items()],
            "timeline": timeline}
