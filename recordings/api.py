"""Recording playback and download: permission-checked JSON, short-lived signed file links,
and an audit entry for every view and download.

Every route serves a recording as its viewer may receive it (``recordings.privacy``): a party
or observer shut out of a caucus gets neither that period's files nor their names, nor a cut
they could undo. The signed links carry the viewer, so a link handed on serves no more than
its viewer could get."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from recordings.export import export_zip
from recordings.playback import playback_data
from recordings.privacy import FULL, Range, Viewer, coverage, visible_ranges
from recordings.redact import redact
from recordings.repository import RecordingRepository
from recordings.storage import LocalRecordingStorage
from server.api import principal_of
from server.audit import AuditLog
from server.cases.repository import CaseRepository, case_resource
from server.db import Database
from server.errors import ParleyError, not_found
from server.mediation.repository import MediationRepository
from server.policy import Action, CaseResource, Principal, Role, require
from server.rest import Auth, Route, query_of, register

LINK_TTL_S = 600


EXPORT_CHUNK = 1 << 20


class LinkQuery(BaseModel):
    """A signed link's expiry (Unix seconds), viewer and signature; checked by ``RecordingAccess``."""

    model_config = ConfigDict(extra="ignore")
    exp: str = Field(default="", max_length=20)
    v: str = Field(default="", max_length=64)
    sig: str = Field(default="", max_length=128)


class RecordingAccess:
    """What the routes need, kept on the app under ``RECORDING_ACCESS_KEY``."""

    def __init__(self, *, db: Database, cases: CaseRepository, storage: LocalRecordingStorage,
                 audit: AuditLog, secret_key: bytes, export_dir: Path,
                 reviewer_of: Callable[[Principal, str], Awaitable[bool]] | None = None) -> None:
        self.db = db
        # Whether the caller is a drawn quality reviewer of the case (server/quality), who
        # watches the whole session without being its lawyer.
        self.reviewer_of = reviewer_of
        self.cases = cases
        self.mediations = MediationRepository(db)
        self.repo = RecordingRepository(db)
        self.storage = storage
        self.audit = audit
        self.key = secret_key
        self.export_dir = export_dir

    def sign(self, recording_id: str, path: str, exp: int, viewer: str) -> str:
        message = f"{recording_id}\n{path}\n{exp}\n{viewer}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def link(self, recording_id: str, path: str, now: float, viewer: Viewer) -> str:
        exp = int(now) + LINK_TTL_S
        who = _viewer_key(viewer)
        base = (f"/api/recordings/{recording_id}/export" if path == "export"
                else f"/api/recordings/{recording_id}/files/{quote(path)}")
        return (f"{base}?exp={exp}&v={quote(who)}"
                f"&sig={self.sign(recording_id, path, exp, who)}")

    def check(self, request: web.Request, recording_id: str, path: str) -> Viewer:
        """The viewer the link was made for, once its signature and expiry hold."""
        link = query_of(request, LinkQuery)
        if not (link.exp.isascii() and link.exp.isdigit()):
            raise ParleyError("link_invalid", "链接无效 / invalid link", 403)
        exp = int(link.exp)
        who = link.v
        expected = self.sign(recording_id, path, exp, who)
        if not who or not hmac.compare_digest(expected, link.sig):
            raise ParleyError("link_invalid", "链接无效 / invalid link", 403)
        if exp < time.time():
            raise ParleyError("link_expired", "链接已过期，请刷新页面 / link expired", 403)
        return FULL if who == "*" else Viewer(who)

    async def ranges(self, recording_id: str, viewer: Viewer) -> dict[str, list[Range]]:
        """What ``viewer`` may receive of each lane of the recording."""
        recording = await self.repo.get(recording_id)
        if recording is None:
            return {}
        segments = await self.repo.segments(recording_id)
        entries = [e.to_dict() for e in await self.repo.entries(recording_id)]
        return visible_ranges(entries, [*recording.participants,
                                        *(s.participant_id for s in segments)], viewer)

    def clear_exports(self, now: float) -> None:
        """Remove what an interrupted export (or an older version, which kept every zip) left
        behind. Exports live only while being written; an hour old is surely abandoned, and
        younger ones may be another process's at work on a shared data folder. Cut copies of
        segments (``redacted/``) are kept: they are a cache of closed segments."""
        if not self.export_dir.is_dir():
            return
        for entry in self.export_dir.iterdir():
            if entry.name == "redacted":
                continue
            if entry.lstat().st_mtime < now - 3600:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def _viewer_key(viewer: Viewer) -> str:
    return "*" if viewer.full or viewer.participant_id is None else viewer.participant_id


RECORDING_ACCESS_KEY = web.AppKey("recording_access", RecordingAccess)



async def _allowed_case(access: RecordingAccess, me: Principal, case_id: str) -> Viewer:
    """A consultation's citizen and lawyer (and its drawn quality reviewer), a mediation's
    mediator and invitees, supervisors;
    and what they may receive: everything, except an invitee of a mediation, who gets what
    they could hear and see live (a consultation has no caucus)."""
    case = await access.cases.get(case_id)
    if case is not None:
        require(me, Action.RECORDING_VIEW)
        if access.reviewer_of is not None and await access.reviewer_of(me, case_id):
            return FULL
        require(me, Action.RECORDING_VIEW, case_resource(case))
        return FULL
    mediation = await access.mediations.case(case_id)
    if mediation is not None:
        require(me, Action.RECORDING_VIEW, CaseResource(mediation.id, str(mediation.mediator_id)))
        return recording_viewer(me)
    require(me, Action.RECORDING_VIEW)
    raise not_found("案件不存在 / no such case")


def recording_viewer(me: Principal) -> Viewer:
    """The mediator of the case (checked by the policy) and supervisors get everything; an
    invitee is one participant of the recording (their token's subject)."""
    if me.role in (Role.MEDIATOR, Role.SUPERVISOR):
        return FULL
    return Viewer(me.id)


async def list_for_case(request: web.Request) -> web.Response:
    access = request.app[RECORDING_ACCESS_KEY]
    me = principal_of(request)
    case_id = request.match_info["case_id"]
    await _allowed_case(access, me, case_id)
    recordings = await access.repo.for_case(case_id)
    return web.json_response({"recordings": [
        {"id": r.id, "status": r.status, "started_at": r.started_at.isoformat(),
         "ended_at": r.ended_at.isoformat() if r.ended_at else None,
         "page_url": f"/recordings/{r.id}"} for r in recordings]})


async def get_recording(request: web.Request) -> web.Response:
    access = request.app[RECORDING_ACCESS_KEY]
    me = principal_of(request)
    recording_id = request.match_info["recording_id"]
    recording = await access.repo.get(recording_id)
    if recording is None:
        require(me, Action.RECORDING_VIEW)
        raise not_found("录像不存在 / no such recording")
    viewer = await _allowed_case(access, me, recording.case_id)
    data = await playback_data(access.db, recording_id, viewer=viewer)
    if data is None:
        raise not_found("录像不存在 / no such recording")
    now = time.time()
    for participant in data["participants"]:
        role, _, _ = participant["participant_id"].partition("-")
        participant["role"] = role
        for segment in participant["segments"]:
            segment["url"] = access.link(recording_id, segment["path"], now, viewer)
    data["download_url"] = access.link(recording_id, "export", now, viewer)
    await access.audit.append(actor=me.participant_id, action="recording.viewed",
                              resource=f"recording:{recording_id}", data={},
                              now=datetime.now(UTC))
    return web.json_response(data)


async def get_file(request: web.Request) -> web.StreamResponse:
    access = request.app[RECORDING_ACCESS_KEY]
    recording_id = request.match_info["recording_id"]
    path = f"{request.match_info['participant']}/{request.match_info['name']}"
    viewer = access.check(request, recording_id, path)
    recording = await access.repo.get(recording_id)
    segment = next((s for s in await access.repo.segments(recording_id) if s.path == path),
                   None) if recording is not None else None
    if recording is None or segment is None:
        raise not_found("录像文件不存在 / no such file")
    lane = (await access.ranges(recording_id, viewer)).get(segment.participant_id, [])
    seen = coverage(lane, segment.start_ms, segment.end_ms)
    if seen == "none":  # the same answer as a file that does not exist: its name says nothing
        raise not_found("录像文件不存在 / no such file")
    local = access.storage.local_path(recording.case_id, recording_id, path)
    if seen == "part":
        local = await _cut(access, recording_id, path, local, lane)
    return web.FileResponse(local, headers={"Content-Type": "video/webm",
                                            "Cache-Control": "private, max-age=600"})


async def _cut(access: RecordingAccess, recording_id: str, path: str, source: Path,
               lane: list[Range]) -> Path:
    """The segment cut to ``lane``, made once per distinct set of ranges and kept beside the
    exports (a given viewer's ranges of a closed segment do not change)."""
    key = hashlib.sha256(repr(lane).encode()).hexdigest()[:16]
    dest = access.export_dir / "redacted" / recording_id / key / path
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(redact, source, dest, lane)
    return dest


async def get_export(request: web.Request) -> web.StreamResponse:
    access = request.app[RECORDING_ACCESS_KEY]
    recording_id = request.match_info["recording_id"]
    viewer = access.check(request, recording_id, "export")
    recording = await access.repo.get(recording_id)
    if recording is None:
        raise not_found("录像不存在 / no such recording")
    ranges = None if viewer.full else await access.ranges(recording_id, viewer)
    case = await access.cases.get(recording.case_id)
    chat = await access.cases.chat_for_room(recording.room_id)
    now = datetime.now(UTC)
    access.export_dir.mkdir(parents=True, exist_ok=True)
    # A fresh zip per download (its manifest's export entry is timestamped), built in the
    # export folder, opened, then unlinked before a byte is sent: nothing stays behind.
    dest = access.export_dir / f"{uuid.uuid4().hex}.zip"
    try:
        await export_zip(access.db, access.storage, recording_id, chat=chat,
                         notes=case.notes if case else "", dest=dest, now=now, ranges=ranges)
        handle = await asyncio.to_thread(dest.open, "rb")
    finally:
        dest.unlink(missing_ok=True)
        dest.with_name(dest.name + ".tmp").unlink(missing_ok=True)
    with handle:
        await access.audit.append(actor="signed-link", action="recording.downloaded",
                                  resource=f"recording:{recording_id}",
                                  data={"remote": request.remote or "",
                                        "viewer": _viewer_key(viewer)}, now=now)
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip", "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="recording-{recording_id}.zip"'})
        response.content_length = os.fstat(handle.fileno()).st_size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(handle.read, EXPORT_CHUNK):
            await response.write(chunk)
        await response.write_eof()
    return response


# Every route and the action it performs; the access test checks the actions.
RECORDING_ROUTES = (
    Route("GET", "/api/cases/{case_id}/recordings", list_for_case, "A case's recordings",
          action=Action.RECORDING_VIEW, tag="recordings",
          returns="{recordings: [{id, status, started_at, ended_at, page_url}]}"),
    Route("GET", "/api/recordings/{recording_id}", get_recording, "Playback data",
          action=Action.RECORDING_VIEW, tag="recordings",
          returns="{recording, participants, timeline, download_url}; links valid 10 minutes; "
                  "only what the viewer may receive"),
    # Signed links: the signature (made for one viewer) is the permission, granted above.
    Route("GET", "/api/recordings/{recording_id}/files/{participant}/{name}", get_file,
          "A recorded segment, cut to what the link's viewer may receive",
          auth=Auth.SIGNED_LINK, query=LinkQuery,
          content_type="video/webm", returns="The WebM segment", tag="recordings"),
    Route("GET", "/api/recordings/{recording_id}/export", get_export,
          "The recording as a zip", auth=Auth.SIGNED_LINK, query=LinkQuery,
          content_type="application/zip", tag="recordings",
          returns="The zip with its manifest, chat transcript and notes"),
)

def add_recording_routes(app: web.Application) -> None:
    register(app, RECORDING_ROUTES)
