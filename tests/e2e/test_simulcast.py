"""Simulcast with real Chromium: a publisher's camera goes out as two VP8 layers (the product's
web/js/simulcast.js munges them into its offer), and of two receivers in a mediation room (a
room with a routing table), the one whose bandwidth estimate the worker's lab hook holds at
200 kbit/s decodes the small layer while the other decodes the large one; the recorder gets
the large layer.

The media worker runs in this process (as in bench/media.py's pages, driven from Python); the
pages are served here, with the product's web/js/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from rooms.media.local import LocalMediaWorker
from rooms.media.vp8 import is_vp8_keyframe
from rooms.messages import (
    Ack,
    Answer,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
    SetRouting,
    StartRecording,
)
from tests.e2e.harness import free_port, wait_until

PAGE = Path(__file__).with_name("simulcast_page.html")
WEB_JS = Path(__file__).resolve().parents[2] / "web" / "js"
ROOM = RoomId("simulcast-room")
WEAK_ESTIMATE = 200_000  # bit/s: the small layer (150 kbit/s) fits, the large one does not


class FrameSink:
    """A recorder stand-in: the video frames it is handed, and the size of each keyframe
    (RFC 6386 section 9.1: 14-bit width and height after the start code)."""

    def __init__(self) -> None:
        self.frames = 0
        self.keyframe_sizes: list[tuple[int, int]] = []
        self.pts: list[int] = []

    def start_participant(self, *_: Any) -> None:
        pass

    stop_participant = pause_participant = resume_participant = start_participant

    def packet(self, room_id: RoomId, participant_id: ParticipantId, kind: str,
               packet: av.Packet[Any], arrival: float) -> None:
        if kind != "video":
            return
        data = bytes(packet)
        self.frames += 1
        if packet.pts is not None:
            self.pts.append(int(packet.pts))
        if is_vp8_keyframe(data):
            self.keyframe_sizes.append((int.from_bytes(data[6:8], "little") & 0x3FFF,
                                        int.from_bytes(data[8:10], "little") & 0x3FFF))

    def wants_keyframe(self, room_id: RoomId, participant_id: ParticipantId) -> bool:
        return not self.keyframe_sizes


async def index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


def page_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_static("/js", WEB_JS)
    return app


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    runner = web.AppRunner(page_app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def open_page(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(base_url=base_url, permissions=["camera", "microphone"])
    page = await context.new_page()
    await page.goto("/")
    await page.wait_for_function("window.simulcastReady === true")
    return page


async def negotiate(worker: LocalMediaWorker, page: Page, pid: str, send: bool) -> None:
    sdp = await page.evaluate("(send) => makeOffer(send)", send)
    reply = await worker.request(Negotiate(ROOM, ParticipantId(pid), sdp))
    assert isinstance(reply, Answer), reply
    await page.evaluate("(sdp) => acceptAnswer(sdp)", reply.sdp)


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("() => videoStats()")
    return result


async def decodes_width(page: Page, width: int, what: str) -> None:
    """The page's inbound video has ``width`` and its decoded frames advance at that width."""
    async def at_width() -> bool:
        first = (await stats(page))["inbound"]
        if not first or first["frameWidth"] != width:
            return False
        return True

    await wait_until(at_width, 45, f"{what} decoding {width} px wide")
    start = (await stats(page))["inbound"]["framesDecoded"]

    async def advancing() -> Any:
        now = (await stats(page))["inbound"]
        return now["frameWidth"] == width and now["framesDecoded"] >= start + 10 and now

    await wait_until(advancing, 20, f"{what} frames advancing at {width} px")


async def test_a_receiver_with_a_low_estimate_decodes_the_small_layer(
        browser: Browser, base_url: str) -> None:
    sink = FrameSink()
    worker = LocalMediaWorker(ice_servers=[], allow_private_candidates=True, sink=sink,
                              lab_estimate_cap={"weak": WEAK_ESTIMATE})
    pages: list[Page] = []
    try:
        await worker.request(OpenRoom(ROOM))
        pub, strong_id, weak_id = (ParticipantId(p) for p in ("pub", "strong", "weak"))
        await worker.request(SetRouting(ROOM, allowed=((strong_id, pub), (weak_id, pub)),
                                        max_slots=1))
        publisher = await open_page(browser, base_url)
        strong = await open_page(browser, base_url)
        weak = await open_page(browser, base_url)
        pages = [publisher, strong, weak]
        await publisher.evaluate("() => startCamera()")
        await negotiate(worker, publisher, "pub", send=True)
        await negotiate(worker, strong, "strong", send=False)
        await negotiate(worker, weak, "weak", send=False)

        # The publisher's getStats: two outbound video encodings, small and large, both sent.
        async def two_layers() -> Any:
            outbound = (await stats(publisher))["outbound"]
            widths = sorted(o["frameWidth"] for o in outbound if o["bytesSent"] > 0)
            return widths == [320, 640] and outbound

        outbound = await wait_until(two_layers, 30, "two outbound layers, 320 and 640 wide")
        assert len(outbound) == 2

        await decodes_width(strong, 640, "the receiver with no cap")
        await decodes_width(weak, 320, "the receiver held at 200 kbit/s")
        peer = worker._rooms[ROOM].peers[ParticipantId("pub")]
        publication = peer.publications["video"]
        assert publication.layers is not None and len(publication.layers.media) == 2
        # Keyframes were asked for per layer: the large one for the start, the small one for
        # the held receiver's switch down (which it decoded on from, as one stream).
        assert set(publication._layer_pli) == set(publication.layers.media)
        weak_out = worker._rooms[ROOM].peers[weak_id].forwarders["video"]
        assert publication.layer_of(weak_out) == 0
        # The large receiver is still on the large layer, the small one on the small.
        await decodes_width(strong, 640, "the receiver with no cap, still")

        # The recorder gets the large layer, frame after frame, whoever receives which.
        assert await worker.request(StartRecording(ROOM, "rec-1", (ParticipantId("pub"),),
                                                   "case-1")) == Ack()

        async def recorded() -> bool:
            return sink.frames >= 40

        await wait_until(recorded, 20, "40 recorded video frames")
        assert sink.keyframe_sizes and set(sink.keyframe_sizes) == {(640, 480)}, (
            sink.keyframe_sizes)
        assert sink.pts == sorted(sink.pts), "one layer's frames, in order"
    finally:
        for page in pages:
            await page.evaluate("() => closeAll()")
            await page.context.close()
        await worker.close()
