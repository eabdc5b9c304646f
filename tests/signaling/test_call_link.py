"""The audio-only fallback's notice: when the media worker reports a link change for a
consultation's room, both sides get ``call:link`` (web/js/call.js shows call.link.<state>)."""

from __future__ import annotations

from rooms.media.local import LocalMediaWorker
from rooms.messages import ParticipantId, RoomId
from server.keys import MEDIA_KEY
from tests.conftest import Running
from tests.signaling.test_socket_events import Connect, matched_pair


async def test_both_sides_are_told_when_video_falls_back_and_comes_back(
        running: Running, connect: Connect) -> None:
    citizen, lawyer, _case_id, room_id = await matched_pair(running, connect)
    worker = running.app[MEDIA_KEY]
    assert isinstance(worker, LocalMediaWorker)
    on_link = worker._on_link
    assert on_link is not None, "the app gives its media worker a link callback"
    await on_link(RoomId(room_id), ParticipantId("someone"), "audio_only")
    for side in (citizen, lawyer):
        event = await side.wait_for("call:link", lambda e: e["state"] == "audio_only")
        assert event["room_id"] == room_id
    await on_link(RoomId(room_id), ParticipantId("someone"), "video")
    for side in (citizen, lawyer):
        await side.wait_for("call:link", lambda e: e["state"] == "video")
    await on_link(RoomId("no-such-room"), ParticipantId("someone"), "audio_only")  # ignored
    await citizen.close()
    await lawyer.close()
