"""A recording's manifest: the summary a chain of entries states. Pure, no I/O.

The chain itself (entries, hashes, their check) is ``server.hashchain``. Segment files are
named in ``segment`` entries with their size and SHA-256, so the chain also pins every byte of
media.

Entry kinds: ``started``, ``consent``, ``participant_started``, ``participant_stopped``,
``paused``, ``resumed``, ``segment``, ``dropped``, ``interrupted``, ``gap``, ``ended`` and, in
an export only, ``export`` (the chat transcript and case notes with their hashes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.hashchain import GENESIS, Entry

FORMAT = "parley-recording-manifest/1"


@dataclass(frozen=True)
class FileRecord:
    """A file the manifest vouches for: path relative to the recording's folder."""

    path: str
    size: int
    sha256: str


def files_in(entries: Iterable[Mapping[str, Any]]) -> list[FileRecord]:
    """Every file named by ``segment`` and ``export`` entries (the last mention wins)."""
    found: dict[str, FileRecord] = {}
    for entry in entries:
        data = entry.get("data", {})
        if entry.get("kind") == "segment":
            found[data["path"]] = FileRecord(data["path"], int(data["size"]), data["sha256"])
        elif entry.get("kind") == "export":
            for item in data.get("files", []):
                found[item["path"]] = FileRecord(item["path"], int(item["size"]), item["sha256"])
    return list(found.values())


def render(recording: Mapping[str, Any], entries: Sequence[Entry | Mapping[str, Any]]
           ) -> dict[str, Any]:
    """The manifest document: a summary for readers, and the chain that vouches for it.

    The summary (files, participants, consents, start, end) is derived from the chain, so a
    verifier checks the chain and recomputes the summary rather than trusting it.
    """
    plain = [e.to_dict() if isinstance(e, Entry) else dict(e) for e in entries]
    return {"format": FORMAT, "recording": dict(recording), **summary(plain),
            "entries": plain, "head": plain[-1]["hash"] if plain else GENESIS}


def summary(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Files, participants, consents, start and end as the chain states them."""
    files = []
    participants: list[str] = []
    consents = []
    start = end = None
    for entry in entries:
        kind, data = entry["kind"], entry["data"]
        if kind == "started":
            start = entry["at"]
        elif kind in ("ended", "interrupted"):
            end = entry["at"]
        elif kind == "consent":
            consents.append(data)
        elif kind == "participant_started" and data["participant_id"] not in participants:
            participants.append(data["participant_id"])
        elif kind == "segment":
            files.append({k: data[k] for k in ("path", "participant_id", "size", "sha256",
                                               "start_ms", "end_ms", "codecs") if k in data})
    return {"files": files, "participants": participants, "consents": consents,
            "start": start, "end": end}
