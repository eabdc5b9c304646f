"""Tampering: random byte flips and truncations of an exported copy (every file, manifest
included), of the zip, and of the stored recording and its database chain; the verifier
catches every one and says where."""

from __future__ import annotations

import asyncio
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from recordings.export import export_zip
from recordings.models import RecordingEvent
from recordings.storage import LocalRecordingStorage
from recordings.verify import verify_path, verify_stored
from server.db import Database
from server.migrate import upgrade
from tests.recordings.conftest import CASE, T0, add_case
from tests.recordings.flow import record
from tests.recordings.media import Timed, media


@dataclass(frozen=True)
class Exported:
    zip: Path
    folder: Path
    files: list[Path]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    root = tmp_path_factory.mktemp("tamper")

    async def make() -> Path:
        db = Database(f"sqlite+aiosqlite:///{root}/parley.db")
        await upgrade(db)
        await add_case(db)
        storage = LocalRecordingStorage(root / "recordings")
        try:
            recording = await record(db, storage, list(media(3.0)))
            return await export_zip(db, storage, recording.id, [], "notes", root / "x.zip",
                                    T0 + timedelta(days=1))
        finally:
            await db.close()

    target = asyncio.run(make())
    folder = root / "copy"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert verify_path(folder).ok and verify_path(target).ok
    yield Exported(target, folder, files)
    shutil.rmtree(root)


@st.composite
def damage(draw: st.DrawFn, count: int) -> tuple[int, str, float, int]:
    return (draw(st.integers(0, count - 1)), draw(st.sampled_from(["flip", "truncate"])),
            draw(st.floats(0, 1, exclude_max=True)), draw(st.integers(1, 255)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_flip_and_truncation_of_an_export_is_caught(exported: Exported,
                                                          data: st.DataObject) -> None:
    index, how, where, xor = data.draw(damage(len(exported.files)))
    path = exported.files[index]
    original = path.read_bytes()
    offset = int(where * len(original))
    if how == "flip":
        changed = original[:offset] + bytes([original[offset] ^ xor]) + original[offset + 1:]
    else:
        changed = original[:offset]
    try:
        path.write_bytes(changed)
        report = verify_path(exported.folder)
    finally:
        path.write_bytes(original)
    assert not report.ok, f"{how} of {path.name} at {offset} went unseen"
    name = path.relative_to(exported.folder).as_posix()
    assert any(name in problem or "manifest.json" in problem for problem in report.problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255),
       truncate=st.booleans())
def test_damage_to_zipped_content_is_caught(exported: Exported, tmp_path_factory: pytest.TempPathFactory,
                                            where: float, xor: int, truncate: bool) -> None:
    raw = exported.zip.read_bytes()
    with zipfile.ZipFile(exported.zip) as archive:
        # The members' bytes (not the zip's own bookkeeping such as timestamps).
        spans = [(i.header_offset + 30 + len(i.filename.encode()) + len(i.extra),
                  i.compress_size) for i in archive.infolist()]
    start, size = spans[int(where * len(spans))]
    offset = start + int(where * size) % max(size, 1)
    changed = raw[:offset] if truncate else (
        raw[:offset] + bytes([raw[offset] ^ xor]) + raw[offset + 1:])
    target = tmp_path_factory.mktemp("zip") / "damaged.zip"
    target.write_bytes(changed)
    assert not verify_path(target).ok


async def test_the_stored_recording_names_what_differs(
        db: Database, storage: LocalRecordingStorage, packets: list[Timed]) -> None:
    recording = await record(db, storage, packets[:90])
    assert (await verify_stored(db, storage, recording.id)).ok
    segment = storage.local_path(CASE, recording.id, "bob/0001.webm")
    original = segment.read_bytes()
    segment.write_bytes(original[:-10])
    report = await verify_stored(db, storage, recording.id)
    assert f"bob/0001.webm: size expected {len(original)}, actual {len(original) - 10}" in (
        report.problems)
    segment.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    report = await verify_stored(db, storage, recording.id)
    assert any(p.startswith("bob/0001.webm: sha256 expected") for p in report.problems)
    segment.write_bytes(original)
    # Someone edits the database chain.
    async with db.session() as session, session.begin():
        await session.execute(update(RecordingEvent)
                              .where(RecordingEvent.recording_id == recording.id,
                                     RecordingEvent.seq == 3)
                              .values(data={"participant_id": "mallory", "at_ms": 0}))
    report = await verify_stored(db, storage, recording.id)
    assert any(p.startswith("database: broken chain at entry 3") for p in report.problems)
    assert any("differs from the database chain at entry 3" in p for p in report.problems)
