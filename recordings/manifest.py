"""A recording's manifest: hash-chained entries and the checks on them. Pure, no I/O.

Each entry is ``{seq, at, kind, data, prev, hash}``: ``prev`` is the previous entry's ``hash``
(the first entry's is ``GENESIS``) and ``hash`` is the SHA-256 of the entry's canonical JSON
without ``hash``. Changing, removing or reordering any entry breaks the chain from there on.
Segment files are named in ``segment`` entries with their size and SHA-256, so the chain also
pins every byte of media.

Entry kinds: ``started``, ``consent``, ``participant_started``, ``participant_stopped``,
``paused``, ``resumed``, ``segment``, ``dropped``, ``interrupted``, ``gap``, ``ended`` and, in
an export only, ``export`` (the chat transcript and case notes with their hashes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "parley-recording-manifest/1"
GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """The one byte form every hash is taken of: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(seq: int, at: str, kind: str, data: Mapping[str, Any], prev: str) -> str:
    body = {"seq": seq, "at": at, "kind": kind, "data": dict(data), "prev": prev}
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str  # ISO 8601 UTC
    kind: str
    data: Mapping[str, Any]
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "data": dict(self.data),
                "prev": self.prev, "hash": self.hash}


def next_entry(previous: Entry | None, at: str, kind: str, data: Mapping[str, Any]) -> Entry:
    """The entry that follows ``previous`` (None: the first one)."""
    seq = 0 if previous is None else previous.seq + 1
    prev = GENESIS if previous is None else previous.hash
    # Round-trip through JSON so what is hashed is exactly what is stored and reloaded.
    plain = json.loads(canonical(dict(data)))
    return Entry(seq, at, kind, plain, prev, entry_hash(seq, at, kind, plain, prev))


def chain_problems(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with a chain of entry dicts, in order; empty when it holds."""
    problems: list[str] = []
    prev = GENESIS
    for index, raw in enumerate(entries):
        try:
            seq, at, kind = int(raw["seq"]), str(raw["at"]), str(raw["kind"])
            data, stated_prev, stated = dict(raw["data"]), str(raw["prev"]), str(raw["hash"])
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"broken chain at entry {index}: malformed entry ({exc!r})")
            return problems
        if seq != index:
            problems.append(f"broken chain at entry {index}: seq is {seq}")
            return problems
        if stated_prev != prev:
            problems.append(f"broken chain at entry {index}: prev is {stated_prev}, "
                            f"expected {prev}")
            return problems
        actual = entry_hash(seq, at, kind, data, stated_prev)
        if actual != stated:
            problems.append(f"broken chain at entry {index}: hash is {stated}, "
                            f"content hashes to {actual}")
            return problems
        prev = stated
    return problems


@dataclass(frozen=True)
class FileRecord:
    """A file the manifest vouches for: path relative to the recording's folder."""

    path: str
    size: int
    sha256: str


def files_in(entries: Iterable[Mapping[str, Any]]) -> list[FileRecord]:
    """Every file named by ``segment`` and ``export`` entries (the last mention wins), less
    those an ``export`` entry lists as ``withheld``."""
    found: dict[str, FileRecord] = {}
    for entry in entries:
        data = entry.get("data", {})
        if entry.get("kind") == "segment":
            found[data["path"]] = FileRecord(data["path"], int(data["size"]), data["sha256"])
        elif entry.get("kind") == "export":
            for item in data.get("files", []):
                found[item["path"]] = FileRecord(item["path"], int(item["size"]), item["sha256"])
            # An export for a viewer shut out of a caucus leaves those files out, and says so.
            for path in data.get("withheld", []):
                found.pop(path, None)
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
