"""Recording a mediation over real python-socketio clients (no media needed): the consent ledger
with the notice text, a refusal keeping the invitee out, the start once every admitted
participant consented, later admissions, caucus segments, pause/resume, removal, hang-up and
the end of the session completing the recording."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from recordings.models import RecordingStatus
from recordings.playback import playback_data
from recordings.policy import CURRENT_NOTICE
from recordings.repository import RecordingRepository
from recordings.verify import verify_stored
from rooms.messages import RoomId
from server.keys import DATABASE_KEY
from signaling.app.factory import RECORDING_STACK_KEY
from signaling.keys import MEDIA_KEY
from tests.clients import SocketClient, get_json
from tests.conftest import Running
from tests.signaling.mediation.test_mediation import create_case, invite, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def lobby(client: SocketClient, case_id: str, name: str, id4: str, recording: bool
                ) -> dict[str, Any]:
    return await client.call("mediation:lobby", {
        "case_id": case_id, "name": name, "id_last4": id4, "consent_mediation": True,
        "consent_recording": recording, "sham_warning_read": True})


def worker_records(running: Running, room_id: str) -> set[str] | None:
    """Who the worker records in the room now (None: no recording there)."""
    control = running.app[MEDIA_KEY]._recording
    active = control._active.get(RoomId(room_id))
    return None if active is None else set(active.participants)


async def test_consent_ledger_caucus_pause_and_end(running: Running, connect: Connect) -> None:
    repo = RecordingRepository(running.app[DATABASE_KEY])
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    applicant = await invite(running, token, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, token, case_id, "respondent", "李四", "5678")
    mediator = await connect(token)
    entered = await mediator.call("mediation:enter", {"case_id": case_id})
    assert entered.get("ok"), entered
    room_id = entered["room"]["room_id"]
    med_id = entered["room"]["self"]["id"]
    app_client = await connect(applicant.token)
    resp_client = await connect(respondent.token)

    # The mediator's consent is the act of opening the session; entering again adds no row.
    assert (await mediator.call("mediation:enter", {"case_id": case_id}))["ok"]
    # A refusal is in the ledger and keeps the invitee out of the lobby (policy: required).
    refused = await lobby(resp_client, case_id, "李四", "5678", recording=False)
    assert refused["error"]["code"] == "recording_consent_required", refused
    assert (await lobby(app_client, case_id, "张三", "123X", recording=True))["ok"]
    consents = await repo.consents(case_id)
    assert [(c.participant_id, c.role, c.decision) for c in consents] == [
        (med_id, "mediator", "granted"), (respondent.participant_id, "respondent", "refused"),
        (applicant.participant_id, "applicant", "granted")]
    for c in consents:
        assert c.text_shown == CURRENT_NOTICE.text() and CURRENT_NOTICE.zh in c.text_shown
        assert c.text_version == CURRENT_NOTICE.version and c.room_id == room_id
    view = (await mediator.call("mediation:resume", {"case_id": case_id}))["room"]
    assert respondent.participant_id not in {m["id"] for m in view["members"]}
    # Waiting in the lobby is not being recorded.
    assert await repo.for_case(case_id) == [] and worker_records(running, room_id) is None

    reply = await mediator.call("mediation:admit", {"case_id": case_id,
                                                    "participant_id": applicant.participant_id})
    assert reply.get("ok"), reply
    await app_client.wait_for("recording:state", lambda s: s["state"] == "recording")
    [recording] = await repo.for_case(case_id)
    assert recording.room_id == room_id
    assert recording.participants == [med_id, applicant.participant_id]
    assert worker_records(running, room_id) == {med_id, applicant.participant_id}

    # The respondent changes their mind: granted, waiting (not recorded), admitted (recorded).
    assert (await lobby(resp_client, case_id, "李四", "5678", recording=True))["ok"]
    assert worker_records(running, room_id) == {med_id, applicant.participant_id}
    assert (await mediator.call("mediation:admit", {
        "case_id": case_id, "participant_id": respondent.participant_id}))["ok"]
    everyone = {med_id, applicant.participant_id, respondent.participant_id}
    assert worker_records(running, room_id) == everyone
    assert (await repo.get(recording.id)).participants == [  # type: ignore[union-attr]
        med_id, applicant.participant_id, respondent.participant_id]

    # Caucus with the applicant, the mediator walks over to the respondent, everyone back.
    assert (await mediator.call("mediation:caucus", {"case_id": case_id,
                                                     "with_side": "applicant"}))["ok"]
    assert (await mediator.call("mediation:move", {"case_id": case_id, "participant_id": med_id,
                                                   "group": 1}))["ok"]
    assert (await mediator.call("mediation:caucus_end", {"case_id": case_id}))["ok"]
    assert worker_records(running, room_id) == everyone  # each file: only what they sent
    for paused in (True, False):
        assert (await mediator.call("mediation:recording", {"case_id": case_id,
                                                            "paused": paused}))["ok"]
    await app_client.wait_for("recording:state", lambda s: s["state"] == "paused")

    # Removal stops the respondent's writer; a hang-up only marks the timeline.
    assert (await mediator.call("mediation:remove", {
        "case_id": case_id, "participant_id": respondent.participant_id}))["ok"]
    assert worker_records(running, room_id) == {med_id, applicant.participant_id}
    assert (await app_client.call("mediation:leave", {"case_id": case_id}))["ok"]
    assert worker_records(running, room_id) == {med_id, applicant.participant_id}

    assert (await mediator.call("mediation:end", {"case_id": case_id}))["ok"]
    await app_client.wait_for("recording:state", lambda s: s["state"] == "stopped")
    assert worker_records(running, room_id) is None
    done = await repo.get(recording.id)
    assert done is not None and done.status == RecordingStatus.COMPLETE and done.ended_at

    data = await playback_data(running.app[DATABASE_KEY], recording.id)
    assert data is not None and data["recording"]["status"] == "complete"
    marks = [(e["kind"], e.get("group") or e.get("participant_id"))
             for e in data["timeline"]
             if e["kind"] in ("caucus_started", "caucus_ended", "paused", "resumed", "left")]
    assert marks == [
        ("caucus_started", 1), ("caucus_started", 2),            # the split
        ("caucus_started", 1), ("caucus_started", 2),            # after the mediator's move
        ("caucus_ended", None), ("paused", None), ("resumed", None),
        ("left", respondent.participant_id), ("left", applicant.participant_id)]
    at = [e["at_ms"] for e in data["timeline"] if e["kind"] != "participant_stopped"]
    assert at == sorted(at)  # (writer events carry the time they were stored)
    entries = await repo.entries(recording.id)
    kinds = [e.kind for e in entries]
    assert kinds[0] == "started" and kinds[-1] == "ended"
    assert kinds.count("consent") == 3 and kinds.count("participant_started") == 3
    assert kinds.count("participant_stopped") == 3
    starts = [e.data for e in entries if e.kind == "caucus_started"]
    assert [s["members"] for s in starts] == [
        [med_id, applicant.participant_id], [respondent.participant_id],
        [applicant.participant_id], [respondent.participant_id, med_id]]
    moved = next(e.data for e in entries if e.kind == "mediator_moved")
    assert moved["participant_id"] == med_id and moved["to_group"] == 2
    consented = {e.data["participant_id"]: e.data for e in entries if e.kind == "consent"}
    assert consented[med_id]["role"] == "mediator"
    assert all(c["text_shown"] == CURRENT_NOTICE.text() for c in consented.values())
    stack = running.app[RECORDING_STACK_KEY]
    report = await verify_stored(running.app[DATABASE_KEY], stack.storage, recording.id)
    assert report.ok, report
    # The mediator and the parties may open it; a stranger's token may not.
    for allowed in (token, applicant.token):
        status, _ = await get_json(running.url, f"/api/recordings/{recording.id}", token=allowed)
        assert status == 200
    _, stranger = await running.intake()
    status, _ = await get_json(running.url, f"/api/recordings/{recording.id}", token=stranger)
    assert status == 403


async def test_not_recorded_until_a_party_is_admitted_and_a_pause_carries_over(
        running: Running, connect: Connect) -> None:
    """The mediator alone is not a session; a pause set before the start holds from the start.
    A new session of the same case is a new recording."""
    repo = RecordingRepository(running.app[DATABASE_KEY])
    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    party = await invite(running, token, case_id, "applicant", "张三", "123X")
    mediator = await connect(token)
    entered = await mediator.call("mediation:enter", {"case_id": case_id})
    room_id = entered["room"]["room_id"]
    assert (await mediator.call("mediation:recording", {"case_id": case_id,
                                                        "paused": True}))["ok"]
    assert await repo.for_case(case_id) == []
    client = await connect(party.token)
    assert (await lobby(client, case_id, "张三", "123X", recording=True))["ok"]
    assert (await mediator.call("mediation:admit", {
        "case_id": case_id, "participant_id": party.participant_id}))["ok"]
    await client.wait_for("recording:state", lambda s: s["state"] == "paused")
    [recording] = await repo.for_case(case_id)
    assert running.app[MEDIA_KEY]._recording._active[RoomId(room_id)].paused
    assert (await mediator.call("mediation:end", {"case_id": case_id}))["ok"]
    assert (await repo.get(recording.id)).status == RecordingStatus.COMPLETE  # type: ignore[union-attr]
    kinds = [e.kind for e in await repo.entries(recording.id)]
    assert kinds.index("paused") > kinds.index("participant_started")

    # The next session: a new room, the mediator's consent again, a new recording.
    again = await mediator.call("mediation:enter", {"case_id": case_id})
    assert again["room"]["room_id"] != room_id
    rows = [c for c in await repo.consents(case_id) if c.role == "mediator"]
    assert [c.room_id for c in rows] == [room_id, again["room"]["room_id"]]
