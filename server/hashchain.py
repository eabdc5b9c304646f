"""Hash-chained evidence, the one form shared by recordings, case timelines' exports and the
judicial-confirmation package: the canonical JSON every hash is taken of, chain entries and
their check, the stored byte form of a manifest, and the report of a verification. Pure, no I/O.

Each entry is ``{seq, at, kind, data, prev, hash}``: ``prev`` is the previous entry's ``hash``
(the first entry's is ``GENESIS``) and ``hash`` is the SHA-256 of the entry's canonical JSON
without ``hash``. Changing, removing or reordering any entry breaks the chain from there on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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



@dataclass
class Report:
    subject: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        if self.ok:
            return f"OK {self.subject}"
        return "\n".join([f"FAILED {self.subject}", *(f"  - {p}" for p in self.problems)])


def manifest_bytes(document: Mapping[str, Any]) -> bytes:
    """The exact bytes a manifest is stored as (``service.store_manifest``, exports)."""
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode()

