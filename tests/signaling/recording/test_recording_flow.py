"""Recording consent over real sockets: the ledger, refusals by policy, start and stop, and the
playback API's permissions, signed links and audit entries."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from recordings.repository import RecordingRepository
from recordings.verify import verify_path
from server.audit import AuditLog
from server.keys import DATABASE_KEY
from server.policy import Principal, Role
from signaling.app.factory import CONSULTATION_RECORDING_KEY
from tests.clients import SocketClient, get_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]
VERSION = "2026-11-v1"


async def matched(running: Running, connect: Connect, **intake: str
                  ) -> tuple[SocketClient, SocketClient, str, str, str]:
    await running.add_lawyer()
    case_id, token = await running.intake(**intake)
    citizen = await connect(token)
    lawyer = await connect(await running.login())
    reply = await lawyer.call("queue:take_next")
    assert reply["ok"], reply
    assert reply["room"]["recording"]["state"] == "pending"
    return citizen, lawyer, case_id, reply["room"]["room_id"], token


async def test_consent_is_asked_and_refusal_keeps_the_call_unrecorded(
    running: Running, connect: Connect
) -> None:
    citizen, lawyer, case_id, room_id, _ = await matched(running, connect)
    notice = await citizen.wait_for("recording:notice")
    assert notice["notice"]["version"] == VERSION and notice["required"] is False
    bad = await citizen.call("recording:consent", {"room_id": room_id, "decision": "granted",
                                                   "version": "v0"})
    assert bad["error"]["code"] == "bad_request"
    reply = await citizen.call("recording:consent", {"room_id": room_id, "decision": "refused",
                                                     "version": VERSION})
    assert reply["recording"]["state"] == "off" and reply["recording"]["decision"] == "refused"
    state = await lawyer.wait_for("recording:state")
    assert state == {"room_id": room_id, "state": "off", "reason": "refused"}
    again = await citizen.call("recording:consent", {"room_id": room_id, "decision": "granted",
                                                     "version": VERSION})
    assert again["error"]["code"] == "invalid_state"
    _, stranger_token = await running.intake(name="王五")
    stranger = await connect(stranger_token)
    assert (await stranger.call("recording:consent", {"room_id": room_id, "decision": "granted",
                                                      "version": VERSION}))["error"]["code"] \
        == "not_in_room"
    status, _ = await get_json(running.url, f"/api/cases/{case_id}/recordings",
                                  token=stranger_token)
    assert status == 403


async def test_required_recording_refused_sends_the_case_back(
    running: Running, connect: Connect
) -> None:
    citizen, lawyer, case_id, room_id, _ = await matched(running, connect,
                                                         service_type="mediation")
    await citizen.call("recording:consent", {"room_id": room_id, "decision": "refused",
                                             "version": VERSION})
    requeued = await citizen.wait_for("case:requeued")
    assert requeued["reason"] == "recording_refused"
    ended = await lawyer.wait_for("case:ended")
    assert ended["reason"] == "recording_refused"
    case = await running.cases.get(case_id)
    assert case.status == "waiting" and case.room_id is None


async def test_both_grant_then_recording_runs_and_is_served(
    running: Running, connect: Connect, tmp_path: Path
) -> None:
    citizen, lawyer, case_id, room_id, citizen_token = await matched(running, connect)
    for client in (citizen, lawyer):
        reply = await client.call("recording:consent", {"room_id": room_id,
                                                        "decision": "granted", "version": VERSION})
        assert reply["ok"], reply
    await citizen.wait_for("recording:state", lambda s: s["state"] == "recording")
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    await citizen.wait_for("recording:state", lambda s: s["state"] == "stopped")

    status, listing = await get_json(running.url, f"/api/cases/{case_id}/recordings",
                                     token=citizen_token)
    assert status == 200 and len(listing["recordings"]) == 1
    recording = listing["recordings"][0]
    assert recording["status"] == "complete"
    status, playback = await get_json(running.url, f"/api/recordings/{recording['id']}",
                                      token=citizen_token)
    assert status == 200 and playback["download_url"].startswith("/api/recordings/")
    audit = await AuditLog(running.app[DATABASE_KEY]).entries(f"recording:{recording['id']}")
    assert [e.action for e in audit] == ["recording.viewed"]

    async with aiohttp.ClientSession() as session:
        async with session.get(running.url + playback["download_url"]) as response:
            assert response.status == 200
            (tmp_path / "export.zip").write_bytes(await response.read())
        forged = playback["download_url"].replace("sig=", "sig=0")
        async with session.get(running.url + forged) as response:
            assert response.status == 403
            assert (await response.json())["error"]["code"] == "link_invalid"
    assert verify_path(tmp_path / "export.zip").ok
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        assert "manifest.json" in archive.namelist()
    actions = [e.action for e in await AuditLog(running.app[DATABASE_KEY]).entries()]
    assert actions[-1] == "recording.downloaded"
    assert await AuditLog(running.app[DATABASE_KEY]).verify() == []


async def test_simultaneous_consents_start_one_recording(running: Running, connect: Connect
                                                         ) -> None:
    _, _, case_id, _, _ = await matched(running, connect)
    case = await running.cases.get(case_id)
    flow = running.app[CONSULTATION_RECORDING_KEY]
    citizen = Principal(Role.CITIZEN, case_id, "张三", case_id)
    lawyer = Principal(Role.LAWYER, str(case.lawyer_id), "律师")
    # Both decisions interleave at every await, as two processes' handlers would.
    views = await asyncio.gather(flow.consent(citizen, case, "granted", VERSION),
                                 flow.consent(lawyer, case, "granted", VERSION))
    assert {v["state"] for v in views} <= {"pending", "recording"}
    assert len(await RecordingRepository(running.app[DATABASE_KEY]).for_case(case_id)) == 1
