"""SIGKILL mid-recording: every file stays decodable to its end and loses at most 2 s; the
restart marks the recording interrupted, stores what was left, verifies, records the gap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

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
PROGRESS_S = 0.1  # the child reports the media time it handed over this often


def _follow(stream: IO[str], progress: list[float]) -> None:
    for line in stream:
        progress.append(json.loads(line)["at"])


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0,
               state: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} ({state()})")
        time.sleep(0.02)


async def test_sigkill_mid_recording_then_recover(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "tests.recordings.crash_child", str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "child died"
        started = json.loads(line)
        folder = tmp_path / "recordings" / "case1" / started["recording_id"]
        progress = [0.0]
        reader = threading.Thread(target=_follow, args=(child.stdout, progress), daemon=True)
        reader.start()
        wait_until(lambda: progress[-1] >= KILL_AFTER and all(
            any((folder / p).glob("*.webm")) and any((folder / p).glob("*.webm.part"))
            for p in ("alice", "bob")), "closed segments and one being written, for both",
            state=lambda: f"media at {progress[-1]:.1f} s, files "
            f"{sorted(str(p.relative_to(folder)) for p in folder.glob('*/*'))}")
        os.kill(child.pid, signal.SIGKILL)
        # At most PROGRESS_S more was handed over than last reported.
        handed_over = progress[-1] + PROGRESS_S
        assert child.wait(10) == -signal.SIGKILL
        reader.join(5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()

    partials = sorted(folder.glob("*/*.webm.part"))
    closed = sorted(folder.glob("*/*.webm"))
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
        lost = handed_over - last_ms / 1000
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
        # Segments closed before the kill are stored: by the live process, or by the recovery
        # when the kill came between the file's rename and its database row.
        assert {s.path for s in segments} == {
            f"{p.parent.name}/{p.name.removesuffix('.part')}"
            for p in [*closed, *partials]}
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
