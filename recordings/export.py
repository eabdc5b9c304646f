"""Export a recording as a zip: its segments, its chat transcript and case notes, and the
manifest, whose chain gains one ``export`` entry naming the transcript and notes with their
sizes and hashes. ``recordings.verify.verify_path`` checks the zip offline."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from recordings.manifest import render
from recordings.repository import RecordingRepository, iso
from recordings.storage import MANIFEST, RecordingStorage
from server.db import Database
from server.hashchain import Entry, manifest_bytes, next_entry

CHAT = "chat.json"
NOTES = "notes.txt"


class ChatLine(Protocol):
    """What the transcript needs of a chat message (``server.models.ChatMessage`` fits)."""

    sender_role: str
    sender_id: str
    sender_name: str
    text: str
    created_at: datetime


def transcript(chat: Sequence[ChatLine]) -> bytes:
    lines = [{"at": iso(m.created_at), "sender_role": m.sender_role, "sender_id": m.sender_id,
              "sender_name": m.sender_name, "text": m.text} for m in chat]
    return json.dumps(lines, ensure_ascii=False, indent=1).encode()


def _described(name: str, data: bytes) -> dict[str, Any]:
    return {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def export_zip(db: Database, storage: RecordingStorage, recording_id: str,
                     chat: Sequence[ChatLine], notes: str, dest: Path, now: datetime) -> Path:
    """Write the zip to ``dest`` (atomically) and return it. Chat comes from
    ``CaseRepository.chat_for_room(room_id)``, notes from ``Case.notes``."""
    repo = RecordingRepository(db)
    recording = await repo.get(recording_id)
    if recording is None:
        raise KeyError(recording_id)
    entries: list[Entry] = await repo.entries(recording_id)
    chat_bytes, notes_bytes = transcript(chat), notes.encode()
    extra = [_described(CHAT, chat_bytes), _described(NOTES, notes_bytes)]
    entries.append(next_entry(entries[-1] if entries else None, iso(now), "export",
                              {"files": extra}))
    document = render({"id": recording.id, "case_id": recording.case_id,
                       "room_id": recording.room_id}, entries)
    segments = [f["path"] for f in document["files"]]
    await asyncio.to_thread(_write_zip, storage, recording.case_id, recording.id, segments,
                            {CHAT: chat_bytes, NOTES: notes_bytes,
                             MANIFEST: manifest_bytes(document)}, dest)
    return dest


def _write_zip(storage: RecordingStorage, case_id: str, recording_id: str,
               segments: Sequence[str], small: Mapping[str, bytes], dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for relpath in segments:
            # Stored, not deflated: WebM is compressed already.
            with storage.open(case_id, recording_id, relpath) as source, \
                    archive.open(zipfile.ZipInfo(relpath, (1980, 1, 1, 0, 0, 0)), "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
        for name, data in small.items():
            # Stored too: deflate has slack bits a flip can change without changing the text,
            # and every changed byte of the evidence must show.
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    os.replace(tmp, dest)
