"""Verify a judicial-confirmation package offline (``parley verify package ZIP``).

OK, or exactly what differs. Checked, in order: the zip can be read and every member's CRC holds;
the manifest's bytes are the canonical rendering of its content; its hash chain holds, its
summary and head follow from the chain; every member is named with the right size and SHA-256
and nothing else is there; the committee's seal over the chain verifies; the agreement is in its
canonical form with the stated hash; every signature verifies over that hash and every required
signer signed; and the zip's bytes are exactly the canonical layout of those members (so a change
to a time stamp, attribute or padding that no hash covers is still reported).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from server.agreements.content import AgreementContent, required_signers
from server.agreements.signing import SignatureError, verify
from server.court.package import (
    AGREEMENT,
    FORMAT,
    MANIFEST,
    SIGNATURES,
    files_of,
    write_zip,
)
from server.hashchain import Report, canonical, chain_problems, manifest_bytes


def verify_package(path: Path) -> Report:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Report(str(path), [f"{path.name}: cannot be read ({exc})"])
    return verify_package_bytes(data, str(path))


def _read(data: bytes) -> tuple[list[str], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [info.filename for info in archive.infolist()]
        return names, {name: archive.read(name) for name in names}


def verify_package_bytes(data: bytes, subject: str = "package") -> Report:
    report = Report(subject)
    problems = report.problems
    try:
        names, members = _read(data)
    except Exception as exc:  # any parse failure of untrusted bytes is a finding
        problems.append(f"not a readable zip, or a member fails its CRC ({type(exc).__name__}: "
                        f"{exc})")
        return report
    if len(set(names)) != len(names):
        problems.append("the zip names a member twice")
    raw = members.get(MANIFEST)
    if raw is None:
        problems.append(f"{MANIFEST}: missing")
        return report
    document = _manifest(raw, problems)
    if document is None:
        return report
    entries = document["entries"]
    named = files_of(entries)
    for item in named:
        path = str(item.get("path"))
        content = members.get(path)
        if content is None:
            problems.append(f"{path}: missing")
            continue
        if len(content) != item.get("size"):
            problems.append(f"{path}: size expected {item.get('size')}, actual {len(content)}")
        digest = hashlib.sha256(content).hexdigest()
        if digest != item.get("sha256"):
            problems.append(f"{path}: sha256 expected {item.get('sha256')}, actual {digest}")
    known = {str(item.get("path")) for item in named} | {MANIFEST}
    problems += [f"{name}: not named in the manifest" for name in names if name not in known]
    _seal(entries, problems)
    _agreement(document, members, problems)
    expected_order = [str(item.get("path")) for item in named] + [MANIFEST]
    if names != expected_order:
        problems.append("the members are not in the manifest's order")
    elif not problems:
        rebuilt = write_zip([(name, members[name]) for name in names])
        if rebuilt != data:
            at = next((i for i, (a, b) in enumerate(zip(rebuilt, data, strict=False)) if a != b),
                      min(len(rebuilt), len(data)))
            problems.append(f"zip structure: byte {at} differs from the canonical layout "
                            f"(changed outside the members' contents; {len(data)} bytes, "
                            f"expected {len(rebuilt)})")
    if report.ok:
        report.subject = f"{subject} (head {document['head']})"
    return report


def _manifest(raw: bytes, problems: list[str]) -> dict[str, Any] | None:
    try:
        document = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{MANIFEST}: unreadable ({exc})")
        return None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list) \
            or not document["entries"]:
        problems.append(f"{MANIFEST}: not a package manifest")
        return None
    if manifest_bytes(document) != raw:
        problems.append(f"{MANIFEST}: its bytes are not the canonical rendering of its content")
    if document.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format {document.get('format')!r}, expected {FORMAT!r}")
    entries = document["entries"]
    broken = chain_problems(entries)
    if broken:
        problems += [f"{MANIFEST}: {p}" for p in broken]
        return None
    if document.get("head") != entries[-1]["hash"]:
        problems.append(f"{MANIFEST}: head is {document.get('head')}, the chain ends in "
                        f"{entries[-1]['hash']}")
    if entries[0]["kind"] != "package" or document.get("package") != entries[0]["data"]:
        problems.append(f"{MANIFEST}: the package it names does not match its first entry")
    if document.get("files") != files_of(entries):
        problems.append(f"{MANIFEST}: summary field 'files' differs from the chain")
    return document


def _seal(entries: list[dict[str, Any]], problems: list[str]) -> None:
    last = entries[-1]
    data = last["data"]
    if last["kind"] != "sealed" or data.get("signed") != last["prev"]:
        problems.append(f"{MANIFEST}: the chain does not end in the committee's seal over it")
        return
    try:
        valid = verify(data.get("public_key") or {}, str(data.get("signature")), last["prev"])
    except (SignatureError, ValueError) as exc:
        problems.append(f"{MANIFEST}: seal unusable ({exc})")
        return
    if not valid:
        problems.append(f"{MANIFEST}: the committee's seal does not verify")


def _agreement(document: dict[str, Any], members: dict[str, bytes], problems: list[str]) -> None:
    meta = document.get("package") or {}
    raw = members.get(AGREEMENT)
    signatures_raw = members.get(SIGNATURES)
    if raw is None or signatures_raw is None:
        return  # reported as missing above
    digest = hashlib.sha256(raw).hexdigest()
    if digest != meta.get("agreement_sha256"):
        problems.append(f"{AGREEMENT}: sha256 {digest} is not the signed version's "
                        f"{meta.get('agreement_sha256')}")
    try:
        agreement = json.loads(raw.decode())
        signatures = json.loads(signatures_raw.decode())
        content = AgreementContent.model_validate(agreement["content"])
    except Exception as exc:  # malformed documents are findings
        problems.append(f"{AGREEMENT}/{SIGNATURES}: unreadable ({type(exc).__name__})")
        return
    if canonical(agreement) != raw:
        problems.append(f"{AGREEMENT}: not in canonical form")
    seal_fp = document["entries"][-1]["data"].get("fingerprint")
    signed: set[str] = set()
    for item in signatures if isinstance(signatures, list) else []:
        who = f"{SIGNATURES}: signature of {item.get('name')} ({item.get('signer_id')})"
        try:
            ok = verify(item.get("public_key") or {}, str(item.get("signature")), digest)
        except (SignatureError, ValueError):
            ok = False
        if not ok:
            problems.append(f"{who} does not verify over the agreement's hash")
            continue
        if item.get("signer_id") == "committee" and item.get("fingerprint") != seal_fp:
            problems.append(f"{who}: seal key differs from the package seal's")
        signed.add(str(item.get("signer_id")))
    for missing in [*required_signers(content), "committee"]:
        if missing not in signed:
            problems.append(f"{SIGNATURES}: no valid signature of {missing}")
