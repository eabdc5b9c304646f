"""SIGKILL mid-recording: every file stays decodable to its end and loses at most 2 s; the
restart marks the recording interrupted, stores what was left, verifies, records the gap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from recordings.models import RecordingStatus
from recordings.probe import probe
from recordings.recovery import recover
from recordings.repository import RecordingRepository
from recordings.storage import LocalRecordingStorage
from recordings.verify import verify_stored
from server.db import Database
from tests.recordings.media import decode_all, first_video_is_keyframe

ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER = 5.5  # seconds of media: two closed segments and one being written
MAX_LOSS = 2.0


def wait_until(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def test_sigkill_mid_recording_then_recover(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "tests.recordings.crash_child", str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "child died"
        started = json.loads(line)
        origin = started["origin"]
        folder = tmp_path / "recordings" / "case1" / started["recording_id"]
        wait_until(lambda: (folder / "alice" / "0001.webm").exists(), "a closed segment")
        wait_until(lambda: time.monotonic() >= origin + KILL_AFTER, "media to flow")
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.monotonic() - origin
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()

    partials = sorted(folder.glob("*/*.webm.part"))
    # Segments rotate on the keyframes at 2 s and 4 s; the one begun at 4 s has had its first
    # 1-s cluster written when the kill comes at 5.5 s.
    assert {p.parent.name for p in partials} == {"alice", "bob"}, "no segment was open"
    for participant in ("alice", "bob"):
        last_ms = 0
        for path in sorted([*folder.glob(f"{participant}/*.webm"),
                            *folder.glob(f"{participant}/*.webm.part")]):
            decoded = decode_all(str(path))  # raises on any decoding error
            assert decoded["video"] > 0 and decoded["audio"] > 0, path
            assert first_video_is_keyframe(str(path)), path
            found = probe(path)
            assert found.error is None and found.last_ms is not None, found.error
            last_ms = max(last_ms, found.last_ms)
        lost = killed_at - last_ms / 1000
        print(f"{participant}: the files end {lost:.2f} s before the kill")
        assert lost <= MAX_LOSS, f"{participant} lost {lost:.2f} s before the kill"

    storage = LocalRecordingStorage(tmp_path / "recordings")
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/parley.db")
    try:
        restarted = datetime.now(UTC)
        recovered = await recover(storage, db, restarted)
        assert [r.recording_id for r in recovered] == [started["recording_id"]]
        repo = RecordingRepository(db)
        recording = await repo.get(started["recording_id"])
        assert recording is not None and recording.status == RecordingStatus.INTERRUPTED
        segments = await repo.segments(recording.id)
        assert {s.path for s in segments if s.recovered} >= {
            f"{p.parent.name}/{p.name.removesuffix('.part')}" for p in partials}
        assert any(not s.recovered for s in segments), "closed segments were stored while live"
        entries = await repo.entries(recording.id)
        gap = next(e for e in entries if e.kind == "gap")
        assert 0 <= gap.data["seconds"] <= (restarted - recording.started_at).total_seconds()
        assert [e.kind for e in entries][-2:] == ["interrupted", "gap"]
        report = await verify_stored(db, storage, recording.id)
        assert report.ok, report.render()
        assert storage.partials() == []
        assert await recover(storage, db, restarted) == []  # once only
    finally:
        await db.close()
