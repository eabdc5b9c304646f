"""A restart mid-consultation heals (issue 14, point 8): after the server restarts, the browsers
reconnect and offer again, and media flows; the recording the restart cut is marked
interrupted (never complete), its chain and files verify, and recording goes on in a new
recording under the consents already given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from recordings.models import RecordingStatus
from recordings.repository import RecordingRepository
from recordings.verify import verify_stored
from server.config import Settings
from server.keys import DATABASE_KEY
from signaling.app.factory import RECORDING_STACK_KEY
from tests.clients import SocketClient
from tests.conftest import Running, serving
from tests.rooms.media_clients import SyntheticVideo, eventually

VERSION = "2026-11-v1"


class Browser:
    """A socket client and an aiortc peer connection that negotiates through ``rtc:offer``."""

    def __init__(self, url: str, token: str, luma: int) -> None:
        self.socket = SocketClient(url)
        self.token = token
        self.pc = RTCPeerConnection()
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(SyntheticVideo(luma))
        self.video = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self._tasks.append(
            asyncio.ensure_future(self._consume(track))))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                if isinstance(await track.recv(), av.VideoFrame):
                    self.video += 1
        except MediaStreamError:
            pass

    async def offer(self, room_id: str) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await self.socket.call("rtc:offer", {"room_id": room_id,
                                                     "sdp": self.pc.localDescription.sdp})
        if reply.get("ok"):
            await self.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return reply

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()
        await self.socket.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Loopback candidates: the in-process peers are on this host.
    return Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                              "PARLEY_ICE_ALLOW_PRIVATE": "true"})


@pytest.fixture
async def browsers() -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for browser in made:
        await browser.close()


async def connected(browsers: list[Browser], url: str, token: str, luma: int) -> Browser:
    browser = Browser(url, token, luma)
    browsers.append(browser)
    await browser.socket.connect(token)
    return browser


async def test_a_restart_mid_consultation_heals(settings: Settings,
                                                browsers: list[Browser]) -> None:
    async with serving(settings) as first:
        await first.add_lawyer()
        case_id, citizen_token = await first.intake()
        lawyer_token = await first.login()
        citizen = await connected(browsers, first.url, citizen_token, 60)
        lawyer = await connected(browsers, first.url, lawyer_token, 200)
        room_id = (await lawyer.socket.call("queue:take_next"))["room"]["room_id"]
        for browser in (citizen, lawyer):
            assert (await browser.socket.call("recording:consent", {
                "room_id": room_id, "decision": "granted", "version": VERSION}))["ok"]
        for browser in (citizen, lawyer):
            assert (await browser.offer(room_id))["ok"]
        await eventually(lambda: citizen.video > 10 and lawyer.video > 10, "media before")
        repo = RecordingRepository(first.app[DATABASE_KEY])
        [cut] = await repo.for_case(case_id)
        assert cut.status == RecordingStatus.RECORDING
        await _leave(browsers)

    # The same deployment starts again (same data folder and database, another port).
    async with serving(settings) as second:
        citizen = await connected(browsers, second.url, citizen_token, 60)
        lawyer = await connected(browsers, second.url, lawyer_token, 200)
        resumed = await citizen.socket.call("case:resume")
        assert resumed["room"]["room_id"] == room_id
        assert (await lawyer.socket.call("agent:resume"))["room"]["room_id"] == room_id
        for browser in (citizen, lawyer):
            reply = await browser.offer(room_id)
            assert reply["ok"], reply
        await eventually(lambda: citizen.video > 10 and lawyer.video > 10, "media after")

        repo = RecordingRepository(second.app[DATABASE_KEY])
        old = await repo.get(cut.id)
        assert old is not None and old.status == RecordingStatus.INTERRUPTED
        stack = second.app[RECORDING_STACK_KEY]
        report = await verify_stored(second.app[DATABASE_KEY], stack.storage, cut.id)
        assert report.ok, report.problems
        assert await repo.segments(cut.id), "the cut recording kept no segment"

        # Recording went on, in a new recording that names the one it continues.
        [_, going_on] = await repo.for_case(case_id)
        assert going_on.status == RecordingStatus.RECORDING
        entries = await repo.entries(going_on.id)
        assert {"kind": "continues", "recording_id": cut.id} in [
            {"kind": e.kind, "recording_id": e.data.get("recording_id")} for e in entries]
        await citizen.socket.wait_for("recording:state", lambda s: s["state"] == "recording")

        # The lawyer ends the case: the cut recording stays interrupted, the new one completes.
        assert (await lawyer.socket.call("case:end", {"case_id": case_id,
                                                      "outcome": "answered"}))["ok"]
        await _settled(second)
        old = await repo.get(cut.id)
        assert old is not None and old.status == RecordingStatus.INTERRUPTED
        assert [e.kind for e in await repo.entries(cut.id)].count("ended") == 0
        new = await repo.get(going_on.id)
        assert new is not None and new.status == RecordingStatus.COMPLETE
        assert await repo.segments(going_on.id)
        for recording_id in (cut.id, going_on.id):
            report = await verify_stored(second.app[DATABASE_KEY], stack.storage, recording_id)
            assert report.ok, report.problems
        await _leave(browsers)


async def _leave(browsers: list[Browser]) -> None:
    # Before the server stops: it would wait for open sockets to close.
    for browser in browsers:
        await browser.close()
    browsers.clear()


async def _settled(running: Running) -> None:
    from signaling.app.factory import CONSULTATION_RECORDING_KEY

    await running.app[CONSULTATION_RECORDING_KEY].close()
