"""The judicial-confirmation package: a zip of the application and its documents with a
hash-chained manifest, sealed by the committee. Pure (bytes in, bytes out).

Layout: the files in the order the manifest names them, then ``manifest.json``; every member
stored (not deflated: deflate has slack bits a flip can change without changing the text), with
a fixed time stamp and attributes, so the zip's every byte follows from its contents and
``server.court.verify`` can require the exact layout.

The manifest reuses the recordings' hash chain (``server.hashchain``): entry 0 ``package``
names the application, agreement, version, hash and court; one ``file`` entry per member with
its size and SHA-256; the last entry ``sealed`` carries the committee's signature over the hash
of the entry before it (the chain head of everything else).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from server.agreements.signing import ALGORITHM, SealKey
from server.hashchain import Entry, manifest_bytes, next_entry

FORMAT = "parley-confirmation-package/1"
MANIFEST = "manifest.json"
APPLICATION = "application.json"
AGREEMENT = "agreement.json"
AGREEMENT_PDF = "agreement.pdf"
SIGNATURES = "signatures.json"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# What each file is, for the court's reader (the manifest's ``role``).
ROLES = {
    APPLICATION: "joint application (司法确认申请书)",
    AGREEMENT: "agreement, canonical text that was signed",
    AGREEMENT_PDF: "agreement PDF (人民调解协议书)",
    SIGNATURES: "electronic signatures and the committee seal",
    "mediation_proof.json": "proof that the committee conducted the mediation",
    "identities.json": "identity proofs of the parties",
    "service_addresses.json": "service addresses and phone numbers",
    "consents.json": "consent ledger",
    "session/timeline.json": "session record: hash-chained case timeline",
    "session/chat.json": "session record: joint-session chat",
}


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()


def write_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """The canonical zip of ``members``, in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def manifest_document(meta: Mapping[str, Any], entries: Sequence[Entry | Mapping[str, Any]]
                      ) -> dict[str, Any]:
    """The manifest: the chain, and a summary derived from it (the verifier recomputes it)."""
    plain = [e.to_dict() if isinstance(e, Entry) else dict(e) for e in entries]
    return {"format": FORMAT, "package": dict(meta), "files": files_of(plain),
            "entries": plain, "head": plain[-1]["hash"] if plain else None}


def files_of(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(e["data"]) for e in entries if e.get("kind") == "file"]


def build(meta: Mapping[str, Any], files: Sequence[tuple[str, bytes]], seal: SealKey,
          at: str) -> tuple[bytes, str]:
    """The package zip and its manifest head. ``at``: ISO time of every entry."""
    entry = next_entry(None, at, "package", dict(meta))
    entries = [entry]
    for name, data in files:
        entry = next_entry(entry, at, "file", {
            "path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "role": ROLES.get(name, "recording manifest" if name.startswith("recordings/")
                              else "document")})
        entries.append(entry)
    entry = next_entry(entry, at, "sealed", {
        "algorithm": ALGORITHM, "signed": entry.hash, "signature": seal.sign(entry.hash),
        "public_key": seal.public_jwk, "fingerprint": seal.fingerprint})
    entries.append(entry)
    manifest = manifest_bytes(manifest_document(meta, entries))
    return write_zip([*files, (MANIFEST, manifest)]), entry.hash
