"""Where recording files live: a small interface and the local-filesystem implementation.

Layout: ``<root>/<case_id>/<recording_id>/`` holds ``manifest.json`` and one folder per
participant with numbered segments (``0001.webm``). A segment is written as ``0001.webm.part``
and renamed once closed and hashed, so a name without ``.part`` is always a complete file, and
a ``.part`` left behind marks a crash (``recordings.recovery``). A segment starts as
``0001.webm.new`` and becomes ``.part`` once its header and first media are on disk, so a crash
right after a rotation never leaves a ``.part`` that does not open; a ``.new`` holds a few
packets at most and is discarded.
Every other file is written to a temporary name, synced, and renamed over the old one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

PART = ".part"
STAGED = ".new"
SEGMENT_SUFFIX = ".webm"
MANIFEST = "manifest.json"
_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


def check_name(value: str, what: str) -> str:
    """IDs become path components: only a safe alphabet, never ``..`` or a separator."""
    if not _SAFE.match(value):
        raise ValueError(f"{what} {value!r} is not usable as a file name")
    return value


@dataclass(frozen=True)
class SegmentKey:
    case_id: str
    recording_id: str
    participant_id: str
    index: int

    @property
    def relpath(self) -> str:
        """The segment's path inside its recording's folder, as manifests name it."""
        return f"{self.participant_id}/{self.index:04d}{SEGMENT_SUFFIX}"


class RecordingStorage(Protocol):
    """Files of recordings, by case and recording; paths inside a recording are relative."""

    def partial_path(self, key: SegmentKey) -> Path:
        """A local path to write the segment to (its folder exists)."""

    def staging_path(self, key: SegmentKey) -> Path:
        """A local path to start the segment at (its folder exists); see ``unstage``."""

    def unstage(self, key: SegmentKey) -> None:
        """The staged segment opens and holds media: from now on it is a partial segment."""

    def discard_staged(self) -> list[SegmentKey]:
        """Delete segments a crash left staged (a few packets at most); returns them."""

    def commit(self, key: SegmentKey) -> None:
        """Make the written segment durable and visible under its final name, atomically."""

    def partials(self) -> list[SegmentKey]:
        """Segments written but never committed: what a crash leaves."""

    def files(self, case_id: str, recording_id: str) -> list[str]:
        """Relative paths of the recording's committed files (manifest included)."""

    def local_path(self, case_id: str, recording_id: str, relpath: str) -> Path:
        """The file's local path (for reading with PyAV or serving)."""

    def open(self, case_id: str, recording_id: str, relpath: str) -> BinaryIO:
        """Open a committed file for reading."""

    def put(self, case_id: str, recording_id: str, relpath: str, data: bytes) -> None:
        """Write a whole small file (a manifest) atomically."""

    def delete(self, case_id: str, recording_id: str) -> list[str]:
        """Delete the recording's folder; returns the relative paths that were removed."""


class LocalRecordingStorage:
    """``RecordingStorage`` on a local folder (``settings.data_dir / "recordings"``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, case_id: str, recording_id: str) -> Path:
        return (self.root / check_name(case_id, "case id")
                / check_name(recording_id, "recording id"))

    def partial_path(self, key: SegmentKey) -> Path:
        check_name(key.participant_id, "participant id")
        final = self.folder(key.case_id, key.recording_id) / key.relpath
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.with_name(final.name + PART)

    def staging_path(self, key: SegmentKey) -> Path:
        return self.partial_path(key).with_suffix(STAGED)

    def unstage(self, key: SegmentKey) -> None:
        os.replace(self.staging_path(key), self.partial_path(key))

    def discard_staged(self) -> list[SegmentKey]:
        keys = self._keys(SEGMENT_SUFFIX + STAGED)
        for key in keys:
            self.staging_path(key).unlink(missing_ok=True)
        return keys

    def commit(self, key: SegmentKey) -> None:
        partial = self.partial_path(key)
        _fsync(partial)
        final = partial.with_name(partial.name.removesuffix(PART))
        os.replace(partial, final)
        _fsync_dir(final.parent)

    def partials(self) -> list[SegmentKey]:
        return self._keys(SEGMENT_SUFFIX + PART)

    def _keys(self, suffix: str) -> list[SegmentKey]:
        keys = []
        for path in sorted(self.root.glob(f"*/*/*/*{suffix}")):
            participant = path.parent
            recording = participant.parent
            index = path.name.removesuffix(suffix)
            if index.isdigit():
                keys.append(SegmentKey(recording.parent.name, recording.name, participant.name,
                                       int(index)))
        return keys

    def files(self, case_id: str, recording_id: str) -> list[str]:
        folder = self.folder(case_id, recording_id)
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                      if p.is_file() and not p.name.endswith((PART, STAGED, ".tmp")))

    def local_path(self, case_id: str, recording_id: str, relpath: str) -> Path:
        folder = self.folder(case_id, recording_id)
        path = (folder / relpath).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise ValueError(f"{relpath!r} is outside the recording")
        return path

    def open(self, case_id: str, recording_id: str, relpath: str) -> BinaryIO:
        return self.local_path(case_id, recording_id, relpath).open("rb")

    def put(self, case_id: str, recording_id: str, relpath: str, data: bytes) -> None:
        path = self.local_path(case_id, recording_id, relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)

    def delete(self, case_id: str, recording_id: str) -> list[str]:
        removed = self.files(case_id, recording_id)
        folder = self.folder(case_id, recording_id)
        if folder.exists():
            shutil.rmtree(folder)
        return removed


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def sha256_file(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter_chunks(handle):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def iter_chunks(handle: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # The rename itself must survive a power cut, not only the file's bytes.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
