"""Verify a recording: stored (database + storage) or an exported copy (folder or zip), offline.

A report is OK or lists exactly what differs: which file, expected against actual size or
SHA-256, a chain broken at entry N, a manifest that is not byte-for-byte what was written.
The manifest is checked in three ways, so no change to it goes unseen: its bytes must be the
canonical rendering of its content (a change that keeps the JSON valid and equal still shows),
its chain must hold, and its summary must equal the one recomputed from the chain.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from recordings.manifest import FORMAT, files_in, summary
from recordings.models import RecordingStatus
from recordings.repository import RecordingRepository
from recordings.storage import MANIFEST, PART, RecordingStorage, sha256_file
from server.db import Database
from server.hashchain import GENESIS, Report, chain_problems, manifest_bytes

#: (size, sha256) of a file by relative path, or None when it is missing; raises OSError or
#: zipfile.BadZipFile when it cannot be read.
ReadFile = Callable[[str], tuple[int, str] | None]


def check_manifest(raw: bytes, read: ReadFile, present: Sequence[str] | None) -> list[str]:
    """Everything wrong with a manifest and the files it names. ``present``: the files that
    are there (an export), to report extra ones; None skips that check."""
    try:
        document = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"{MANIFEST}: unreadable ({exc})"]
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        return [f"{MANIFEST}: not a recording manifest"]
    problems = []
    if manifest_bytes(document) != raw:
        problems.append(f"{MANIFEST}: its bytes are not the canonical rendering of its content "
                        "(changed after it was written)")
    if document.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format {document.get('format')!r}, expected {FORMAT!r}")
    entries = document["entries"]
    broken = chain_problems(entries)
    problems += [f"{MANIFEST}: {problem}" for problem in broken]
    if broken:
        return problems
    head = entries[-1]["hash"] if entries else GENESIS
    if document.get("head") != head:
        problems.append(f"{MANIFEST}: head is {document.get('head')}, the chain ends in {head}")
    started = next((e for e in entries if e["kind"] == "started"), None)
    recording = document.get("recording") or {}
    if started is None or started["data"].get("recording_id") != recording.get("id") or any(
            started["data"].get(k) != recording.get(k) for k in ("case_id", "room_id")):
        problems.append(f"{MANIFEST}: the recording it names does not match its first entry")
    for key, value in summary(entries).items():
        if document.get(key) != value:
            problems.append(f"{MANIFEST}: summary field {key!r} differs from the chain")
    named = files_in(entries)
    for item in named:
        try:
            actual = read(item.path)
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            problems.append(f"{item.path}: cannot be read ({exc})")
            continue
        if actual is None:
            problems.append(f"{item.path}: missing")
            continue
        size, digest = actual
        if size != item.size:
            problems.append(f"{item.path}: size expected {item.size}, actual {size}")
        if digest != item.sha256:
            problems.append(f"{item.path}: sha256 expected {item.sha256}, actual {digest}")
    if present is not None:
        known = {item.path for item in named} | {MANIFEST}
        problems += [f"{path}: not named in the manifest" for path in present
                     if path not in known]
    return problems


def verify_path(path: Path) -> Report:
    """Verify an exported copy: a folder or a zip holding ``manifest.json`` at its root."""
    report = Report(str(path))
    if path.is_dir():
        def read_dir(relpath: str) -> tuple[int, str] | None:
            target = path / relpath
            return sha256_file(target) if target.is_file() else None

        manifest = path / MANIFEST
        if not manifest.is_file():
            report.problems.append(f"{MANIFEST}: missing")
            return report
        present = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        report.problems += check_manifest(manifest.read_bytes(), read_dir, present)
        return report
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]

            def read_zip(relpath: str) -> tuple[int, str] | None:
                if relpath not in names:
                    return None
                digest, size = hashlib.sha256(), 0
                with archive.open(relpath) as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                return size, digest.hexdigest()

            if MANIFEST not in names:
                report.problems.append(f"{MANIFEST}: missing")
                return report
            raw = archive.read(MANIFEST)
            report.problems += check_manifest(raw, read_zip, names)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        report.problems.append(f"{path.name}: not a readable zip ({exc})")
    return report


async def verify_stored(db: Database, storage: RecordingStorage, recording_id: str) -> Report:
    """Verify a stored recording: the database chain, the stored manifest against it, every
    segment against both, and nothing left unfinished."""
    repo = RecordingRepository(db)
    report = Report(f"recording {recording_id}")
    recording = await repo.get(recording_id)
    if recording is None:
        report.problems.append("no such recording in the database")
        return report
    entries = [e.to_dict() for e in await repo.entries(recording_id)]
    report.problems += [f"database: {p}" for p in chain_problems(entries)]
    if recording.status == RecordingStatus.PURGED:
        for deletion in await repo.deletions(recording_id):
            report.problems.append(f"purged on {deletion.deleted_at.isoformat()} "
                                   f"({deletion.reason}); its files are gone")
        return report
    if recording.status == RecordingStatus.RECORDING:
        report.problems.append("still recording (or interrupted and not yet recovered)")

    def read_stored(relpath: str) -> tuple[int, str] | None:
        target = storage.local_path(recording.case_id, recording_id, relpath)
        return sha256_file(target) if target.is_file() else None

    try:
        with storage.open(recording.case_id, recording_id, MANIFEST) as handle:
            raw = handle.read()
    except OSError:
        report.problems.append(f"{MANIFEST}: missing from storage")
        raw = None
    if raw is not None:
        report.problems += check_manifest(raw, read_stored, None)
        try:
            stored_entries = json.loads(raw.decode()).get("entries", [])
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            stored_entries = []
        if raw and stored_entries != entries:
            index = next((i for i, (a, b) in enumerate(zip(stored_entries, entries, strict=False))
                          if a != b), min(len(stored_entries), len(entries)))
            report.problems.append(f"{MANIFEST}: differs from the database chain at entry "
                                   f"{index} ({len(stored_entries)} stored, {len(entries)} "
                                   "in the database)")
    chained = {f.path: f for f in files_in(entries)}
    for segment in await repo.segments(recording_id):
        item = chained.get(segment.path)
        if item is None or (item.size, item.sha256) != (segment.size, segment.sha256):
            report.problems.append(f"{segment.path}: the segment row and the chain disagree")
        if raw is None:  # not checked through the manifest above
            actual = read_stored(segment.path)
            if actual != (segment.size, segment.sha256):
                report.problems.append(f"{segment.path}: expected size {segment.size} sha256 "
                                       f"{segment.sha256}, actual {actual or 'missing'}")
    unfinished = [k.relpath for k in storage.partials() if k.recording_id == recording_id]
    report.problems += [f"{p}{PART}: unfinished segment (run recovery)" for p in unfinished]
    return report
