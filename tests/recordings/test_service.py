"""Consent, a whole recording through the service, playback data, export and retention."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from recordings import cli
from recordings.export import CHAT, NOTES, export_zip
from recordings.models import RecordingStatus
from recordings.playback import playback_data
from recordings.repository import RecordingRepository
from recordings.retention import purge_expired
from recordings.service import ConsentMissing, RecordingService
from recordings.storage import LocalRecordingStorage
from recordings.verify import verify_path, verify_stored
from server.config import Settings
from server.db import Database
from tests.recordings.conftest import CASE, T0
from tests.recordings.flow import NOTICE, PARTICIPANTS, ROOM, consent_all, record
from tests.recordings.media import Timed, decode_all


@dataclass
class Line:
    sender_role: str
    sender_id: str
    sender_name: str
    text: str
    created_at: datetime


CHAT_LINES = [Line("citizen", "alice", "张三", "老板拖欠工资三个月。", T0),
              Line("lawyer", "bob", "李律师", "请保留考勤记录。", T0 + timedelta(seconds=3))]


async def test_nobody_is_recorded_without_a_granted_consent(
        db: Database, storage: LocalRecordingStorage) -> None:
    service = RecordingService(db, storage)
    await consent_all(service, ("alice",))
    with pytest.raises(ConsentMissing) as refused:
        await service.begin(CASE, ROOM, PARTICIPANTS)
    assert refused.value.missing == ["bob"]
    await consent_all(service, ("bob",), decision="refused")
    with pytest.raises(ConsentMissing):
        await service.begin(CASE, ROOM, PARTICIPANTS)
    assert await RecordingRepository(db).with_status(RecordingStatus.RECORDING) == []
    ledger = await RecordingRepository(db).consents(CASE)
    assert [(c.participant_id, c.decision, c.text_version) for c in ledger] == [
        ("alice", "granted", "v1"), ("bob", "refused", "v1")]
    assert ledger[0].text_shown == NOTICE


async def test_a_recording_verifies_plays_back_and_exports(
        db: Database, storage: LocalRecordingStorage, packets: list[Timed],
        tmp_path: Path) -> None:
    recording = await record(db, storage, packets)
    assert recording.status == RecordingStatus.COMPLETE
    report = await verify_stored(db, storage, recording.id)
    assert report.ok, report.render()

    manifest = json.loads(storage.open(CASE, recording.id, "manifest.json").read())
    assert manifest["participants"] == ["alice", "bob"]
    assert [c["participant_id"] for c in manifest["consents"]] == ["alice", "bob"]
    assert manifest["start"] and manifest["end"]
    assert {f["path"] for f in manifest["files"]} == {
        f"{p}/000{i}.webm" for p in PARTICIPANTS for i in (1, 2)}
    for item in manifest["files"]:
        assert item["codecs"]["video"]["codec"] == "vp8"
        assert decode_all(str(storage.local_path(CASE, recording.id, item["path"])))["video"]

    data = await playback_data(db, recording.id)
    assert data is not None
    assert [p["participant_id"] for p in data["participants"]] == ["alice", "bob"]
    alice, bob = (p["segments"] for p in data["participants"])
    # One clock for everybody: the two participants' segments line up within 10 ms.
    assert abs(alice[0]["start_ms"] - bob[0]["start_ms"]) <= 20
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds[:2] == ["participant_started", "participant_started"]
    assert "paused" in kinds and kinds[-1] == "ended"

    target = await export_zip(db, storage, recording.id, CHAT_LINES, "欠薪三个月,建议调解。",
                              tmp_path / "export.zip", T0 + timedelta(days=1))
    assert verify_path(target).ok, verify_path(target).render()
    with zipfile.ZipFile(target) as archive:
        exported = json.loads(archive.read("manifest.json"))
        assert json.loads(archive.read(CHAT))[0]["text"] == "老板拖欠工资三个月。"
        archive.extractall(tmp_path / "copy")
    export_entry = exported["entries"][-1]
    assert export_entry["kind"] == "export"
    assert {f["path"] for f in export_entry["data"]["files"]} == {CHAT, NOTES}
    assert verify_path(tmp_path / "copy").ok
    assert cli.verify_path(tmp_path / "copy") == 0


async def test_purge_deletes_expired_recordings_and_keeps_a_record(
        db: Database, storage: LocalRecordingStorage, packets: list[Timed],
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    recording = await record(db, storage, packets[:60])
    assert recording.ended_at is not None
    assert await purge_expired(db, storage, recording.ended_at + timedelta(days=29), 30) == []
    purged = await purge_expired(db, storage, recording.ended_at + timedelta(days=31), 30)
    assert [p.recording_id for p in purged] == [recording.id]
    assert storage.files(CASE, recording.id) == []
    repo = RecordingRepository(db)
    [deletion] = await repo.deletions(recording.id)
    assert deletion.reason == "retention" and "manifest.json" in deletion.files
    assert (await repo.get(recording.id)).status == RecordingStatus.PURGED  # type: ignore[union-attr]
    report = await verify_stored(db, storage, recording.id)
    assert not report.ok and "purged" in report.render()
    # Nothing left to purge; the CLI entry points run their own event loop.
    ours = dataclasses.replace(settings, database_url=db.url, data_dir=storage.root.parent)
    later = recording.ended_at + timedelta(days=400)
    assert await asyncio.to_thread(cli.purge, ours, later) == 0
    assert await asyncio.to_thread(cli.verify_recording, ours, recording.id) == 1
    out = capsys.readouterr().out
    assert "0 recording(s) purged" in out and f"FAILED recording {recording.id}" in out


async def test_a_recording_a_restart_interrupted_never_becomes_complete(
        db: Database, storage: LocalRecordingStorage) -> None:
    from recordings.recovery import recover

    before = RecordingService(db, storage)
    await consent_all(before, PARTICIPANTS)
    recording = await before.begin(CASE, ROOM, PARTICIPANTS, T0)
    # The process stops with the recording running; the next one recovers it at start-up.
    await recover(storage, db, T0 + timedelta(seconds=5))
    after = RecordingService(db, storage)
    await after.start()
    try:
        # The session then ends (the case is closed): the end comes to a service that never
        # ran this recording's writers.
        ended = await after.end(recording.id, T0 + timedelta(seconds=9), wait_s=1)
    finally:
        await after.close()
    assert ended.status == RecordingStatus.INTERRUPTED
    kinds = [e.kind for e in await RecordingRepository(db).entries(recording.id)]
    assert "interrupted" in kinds and "ended" not in kinds
    assert (await verify_stored(db, storage, recording.id)).ok
