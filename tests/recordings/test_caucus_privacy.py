"""Caucus privacy covers the recording (issue 14, point 1): a party shut out of a caucus gets
that period's media by no route (playback data, segment links, exports), the mediator and a
supervisor get everything, and a link cannot be widened by editing it.

The recording is made the way the service makes one (consents, begin, caucus notes on its
clock) with real VP8 + Opus segments written by ``recordings.webm``, so the routes, the cut
copies and the offline verifier all run on real files.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from recordings.api import RECORDING_ACCESS_KEY
from recordings.privacy import FULL, GUARD_MS, Viewer, caucus_periods, visible_ranges
from recordings.probe import probe
from recordings.repository import SegmentRow
from recordings.service import RecordingService
from recordings.storage import sha256_file
from recordings.verify import verify_path
from recordings.webm import SegmentFile
from server.keys import DATABASE_KEY
from tests.clients import get_json
from tests.conftest import Running
from tests.recordings.media import Timed, media
from tests.signaling.mediation.test_mediation import create_case, invite, staff

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CAUCUS = (4000, 8000)  # ms: the mediator with the applicant, the respondent apart
SECONDS = 12.0


def packets_in(path: Path) -> list[int]:
    """Every packet's timestamp (ms) in a WebM file, demuxed without decoding."""
    import av
    found = []
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size and packet.pts is not None and packet.time_base is not None:
                found.append(round(float(packet.pts * packet.time_base) * 1000))
    return found


@functools.cache
def encoded() -> tuple[Timed, ...]:
    """12 s of real VP8 + Opus, encoded once for the module."""
    return tuple(media(SECONDS))


def write_segment(path: Path, start_ms: int, end_ms: int, offset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    segment = SegmentFile(path, size=(160, 120))
    for item in encoded():
        ms = round(item.at * 1000) + offset
        if start_ms <= ms <= end_ms:
            segment.write(item.kind, bytes(item.packet), ms, bool(item.packet.is_keyframe))
    segment.close()


class Wall:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def make_recording(running: Running, case_id: str, room_id: str,
                         lanes: dict[str, str]) -> str:
    """Mediator M, applicant A, respondent R; a caucus of M + A apart from R at 4-8 s; one
    segment per lane over the whole 12 s, and a second one of M's inside the caucus."""
    db = running.app[DATABASE_KEY]
    storage = running.app[RECORDING_ACCESS_KEY].storage
    wall = Wall()
    service = RecordingService(db, storage, wall)
    ids = list(lanes.values())
    for pid in ids:
        await service.record_consent(case_id=case_id, room_id=room_id, participant_id=pid,
                                     role="party", decision="granted", text_shown="录音录像",
                                     text_version="v1", now=T0)
    recording = await service.begin(case_id, room_id, ids, T0)
    m, a, r = lanes["M"], lanes["A"], lanes["R"]
    wall.now = T0 + timedelta(milliseconds=CAUCUS[0])
    await service.note(recording.id, "caucus_started", {"group": 1, "members": [m, a]})
    await service.note(recording.id, "caucus_started", {"group": 2, "members": [r]})
    wall.now = T0 + timedelta(milliseconds=CAUCUS[1])
    await service.note(recording.id, "caucus_ended", {})
    plan = [(m, 1, 0, 12000), (a, 1, 0, 12000), (r, 1, 0, 12000),
            (m, 2, 4200, 7800)]
    for offset, (pid, seq, start, end) in enumerate(plan):
        relpath = f"{pid}/{seq:04d}.webm"
        local = storage.local_path(case_id, recording.id, relpath)
        write_segment(local, start, end, offset)
        size, digest = sha256_file(local)
        got = probe(local)
        assert got.first_ms is not None and got.last_ms is not None
        await service.repo.add_segment(recording.id, SegmentRow(
            participant_id=pid, seq=seq, path=relpath, size=size, sha256=digest,
            start_ms=got.first_ms, end_ms=got.last_ms, codecs=got.codecs), wall.now)
    wall.now = T0 + timedelta(seconds=SECONDS)
    await service.repo.append(recording.id, "ended", {"at_ms": 12000}, wall.now)
    await service.repo.set_status(recording.id, "complete", ended_at=wall.now)
    return recording.id


async def fetch(running: Running, url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(running.url + url) as response:
        return response.status, await response.read()


@pytest.fixture
async def scene(running: Running) -> dict[str, Any]:
    token = await staff(running, "medp", "mediator")
    case_id = await create_case(running, token)
    applicant = await invite(running, token, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, token, case_id, "respondent", "李四", "5678")
    status, view = await get_json(running.url, f"/api/mediations/{case_id}", token)
    assert status == 200, view
    lanes = {"M": view["self"]["id"], "A": applicant.participant_id,
             "R": respondent.participant_id}
    rid = await make_recording(running, case_id, "roomp", lanes)
    await running.add_lawyer("supp", role="supervisor")
    return {"rid": rid, "lanes": lanes, "tokens": {
        "M": token, "A": applicant.token, "R": respondent.token,
        "S": await running.login("supp")}}


def in_caucus(ms: int) -> bool:
    return CAUCUS[0] - GUARD_MS <= ms < CAUCUS[1] + GUARD_MS


async def playback(running: Running, scene: dict[str, Any], who: str) -> dict[str, Any]:
    status, data = await get_json(running.url, f"/api/recordings/{scene['rid']}",
                                  scene["tokens"][who])
    assert status == 200, data
    return data


def lane(data: dict[str, Any], pid: str) -> list[dict[str, Any]]:
    return next(p["segments"] for p in data["participants"] if p["participant_id"] == pid)


async def test_respondent_gets_no_caucus_media_by_playback_or_file(
        running: Running, scene: dict[str, Any], tmp_path: Path) -> None:
    m, a, r = (scene["lanes"][k] for k in "MAR")
    data = await playback(running, scene, "R")
    # The mediator's file made inside the caucus is not even named.
    assert [s["path"] for s in lane(data, m)] == [f"{m}/0001.webm"]
    assert "0002" not in str(data)
    # Files that span the caucus are served cut: no packet of the caucus, the rest kept.
    for pid in (m, a):
        (segment,) = lane(data, pid)
        assert segment["redacted"] is True
        status, body = await fetch(running, segment["url"])
        assert status == 200
        (tmp_path / "cut.webm").write_bytes(body)
        stamps = packets_in(tmp_path / "cut.webm")
        assert stamps and not [ms for ms in stamps if in_caucus(ms)], pid
        assert min(stamps) < CAUCUS[0] and max(stamps) > CAUCUS[1]
    # Their own lane is theirs in full.
    (own,) = lane(data, r)
    assert own["redacted"] is False
    # The caucus file's link, forged from a mediator's, does not serve the respondent.
    full = await playback(running, scene, "M")
    m2 = next(s for s in lane(full, m) if s["path"].endswith("0002.webm"))
    assert parse_qs(urlsplit(m2["url"]).query)["v"] == ["*"]
    forged = re.sub(r"([?&])v=[^&]*", rf"\1v={r}", m2["url"])
    assert forged != m2["url"] and (await fetch(running, forged))[0] == 403
    widened = re.sub(r"([?&])v=[^&]*", r"\1v=%2A", own["url"])
    assert widened != own["url"] and (await fetch(running, widened))[0] == 403


async def test_applicant_in_the_caucus_hears_it_and_not_the_respondent(
        running: Running, scene: dict[str, Any], tmp_path: Path) -> None:
    m, r = scene["lanes"]["M"], scene["lanes"]["R"]
    data = await playback(running, scene, "A")
    assert {s["path"] for s in lane(data, m)} == {f"{m}/0001.webm", f"{m}/0002.webm"}
    assert all(not s["redacted"] for s in lane(data, m))
    (theirs,) = lane(data, r)
    assert theirs["redacted"] is True
    status, body = await fetch(running, theirs["url"])
    assert status == 200
    (tmp_path / "r.webm").write_bytes(body)
    assert not [ms for ms in packets_in(tmp_path / "r.webm") if in_caucus(ms)]


@pytest.mark.parametrize("who", ["M", "S"])
async def test_mediator_and_supervisor_get_everything(
        running: Running, scene: dict[str, Any], who: str) -> None:
    data = await playback(running, scene, who)
    segments = [s for p in data["participants"] for s in p["segments"]]
    assert len(segments) == 4 and not any(s["redacted"] for s in segments)
    for s in segments:
        status, body = await fetch(running, s["url"])
        assert status == 200 and len(body) == s["size"]


async def test_export_for_the_respondent_withholds_the_caucus_and_verifies(
        running: Running, scene: dict[str, Any], tmp_path: Path) -> None:
    m = scene["lanes"]["M"]
    data = await playback(running, scene, "R")
    status, body = await fetch(running, data["download_url"])
    assert status == 200
    archive_path = tmp_path / "r.zip"
    archive_path.write_bytes(body)
    report = verify_path(archive_path)
    assert report.ok, report.render()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        media_names = [n for n in names if n.endswith(".webm")]
        assert f"{m}/0002.webm" not in names and f"redacted/{m}/0002.webm" not in names
        assert f"{m}/0001.webm" not in names and f"redacted/{m}/0001.webm" in names
        for name in media_names:
            (tmp_path / "x.webm").write_bytes(archive.read(name))
            stamps = packets_in(tmp_path / "x.webm")
            if not name.startswith(f"{scene['lanes']['R']}/"):
                assert not [ms for ms in stamps if in_caucus(ms)], name
    # The mediator's export is the whole recording.
    full = await playback(running, scene, "M")
    status, body = await fetch(running, full["download_url"])
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert sum(n.endswith(".webm") for n in archive.namelist()) == 4
        assert not any(n.startswith("redacted/") for n in archive.namelist())


def test_visible_ranges_follow_groups_admission_and_removal() -> None:
    def e(kind: str, **data: Any) -> dict[str, Any]:
        return {"kind": kind, "data": data}
    entries = [e("participant_started", participant_id="m", at_ms=0),
               e("participant_started", participant_id="a", at_ms=0),
               e("participant_started", participant_id="r", at_ms=3000),
               e("caucus_started", group=1, members=["m", "a"], at_ms=10000),
               e("caucus_started", group=2, members=["r"], at_ms=10000),
               e("mediator_moved", groups=[["a"], ["r", "m"]], at_ms=20000),
               e("caucus_ended", at_ms=30000),
               e("left", participant_id="a", reason="removed", at_ms=40000)]
    assert [p.groups is None for p in caucus_periods(entries)] == [True, False, False, True]
    g = GUARD_MS
    ranges = visible_ranges(entries, ["m", "a", "r"], Viewer("r"))
    assert ranges["r"] == [(0, 1 << 62)]
    # Not admitted before 3 s; apart from the mediator until the move, then with them.
    assert ranges["m"] == [(3000, 10000 - g), (20000 + g, 1 << 62)]
    assert ranges["a"] == [(3000, 10000 - g), (30000 + g, 1 << 62)]
    # A removed applicant gets nothing after the removal.
    assert visible_ranges(entries, ["m"], Viewer("a"))["m"][-1] == (30000 + g, 40000)
    assert visible_ranges(entries, ["m"], Viewer("someone")) == {"m": []}
    assert visible_ranges(entries, ["m"], FULL) == {"m": [(0, 1 << 62)]}
