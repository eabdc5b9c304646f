"""The worker refuses bad requests with stable codes and never raises out of request()."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection

from rooms.media.local import LocalMediaWorker
from rooms.messages import (
    Ack,
    AddCandidate,
    Answer,
    CloseRoom,
    ErrorReply,
    GetStats,
    Leave,
    Negotiate,
    OpenRoom,
    ParticipantId,
    Request,
    RoomId,
    WorkerStats,
)
from tests.rooms.media_clients import Client

ROOM = RoomId("r")
ALICE = ParticipantId("alice")
# Well-formed and public; never probed, as no test gives it a peer connection.
PUBLIC_CANDIDATE = "candidate:1 1 udp 2122260223 8.8.8.8 54321 typ host"


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=False)
    assert await w.request(OpenRoom(ROOM)) == Ack()
    yield w
    await w.close()


async def code(worker: LocalMediaWorker, message: Request) -> str:
    reply = await worker.request(message)
    assert isinstance(reply, ErrorReply), reply
    return reply.code


async def client_offer(video: bool = True) -> str:
    """A real offer from an aiortc client, then that client is closed."""
    client = Client(LocalMediaWorker([], True), ROOM, "x", luma=0, video=video)
    try:
        return await client.offer()
    finally:
        await client.close()


@pytest.mark.parametrize("sdp", [
    "",
    "hello",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=rtpmap:96\r\n",
    "v=0\r\n" + "a=x\r\n" * 20000,  # over 64 KiB
])
async def test_malformed_sdp(worker: LocalMediaWorker, sdp: str) -> None:
    assert await code(worker, Negotiate(ROOM, ALICE, sdp)) == "bad_sdp"


async def test_sdp_that_is_not_an_offer(worker: LocalMediaWorker) -> None:
    answer_like = (await client_offer()).replace("a=setup:actpass", "a=setup:active")
    assert await code(worker, Negotiate(ROOM, ALICE, answer_like)) == "bad_sdp"


async def test_offer_without_audio_or_video(worker: LocalMediaWorker) -> None:
    pc = RTCPeerConnection()
    try:
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
    finally:
        await pc.close()
    assert await code(worker, Negotiate(ROOM, ALICE, sdp)) == "bad_sdp"


async def test_offer_without_a_forwardable_codec(worker: LocalMediaWorker) -> None:
    good = await client_offer(video=False)
    assert isinstance(await worker.request(Negotiate(ROOM, ALICE, good)), Answer)
    offer = await client_offer(video=False)
    # Strip Opus: only G.711/G.722 remain, which the worker would have to decode.
    lines = [line for line in offer.splitlines() if "opus" not in line.lower()]
    m_line = next(i for i, line in enumerate(lines) if line.startswith("m=audio"))
    lines[m_line] = lines[m_line].replace(" 96 ", " ")
    assert await code(worker, Negotiate(ROOM, ALICE, "\r\n".join(lines) + "\r\n")) == "bad_sdp"
    stats = await worker.request(GetStats())
    assert isinstance(stats, WorkerStats)
    assert stats.peer_connections == 1, "a refused re-offer leaves the working connection"


async def test_unknown_room(worker: LocalMediaWorker) -> None:
    other = RoomId("nope")
    offer = await client_offer()
    for message in (Negotiate(other, ALICE, offer), AddCandidate(other, ALICE, PUBLIC_CANDIDATE),
                    Leave(other, ALICE), CloseRoom(other)):
        assert await code(worker, message) == "not_found"


async def test_candidate_before_offer(worker: LocalMediaWorker) -> None:
    assert await code(worker, AddCandidate(ROOM, ALICE, PUBLIC_CANDIDATE, "0", 0)) == "no_offer"


async def test_candidates_after_offer(worker: LocalMediaWorker) -> None:
    assert isinstance(await worker.request(Negotiate(ROOM, ALICE, await client_offer())), Answer)
    for bad in ("candidate:garbage", "candidate:1 1 udp 1 1.2.3.4 notaport typ host",
                "candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host",
                "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host",
                "candidate:1 1 udp 2122260223 169.254.3.4 54321 typ host",
                "candidate:1 1 udp 2122260223 fe80::1 54321 typ host",
                "candidate:1 1 udp 2122260223 abcd-1234.local 54321 typ host",
                "x" * 5000):
        assert await code(worker, AddCandidate(ROOM, ALICE, bad, "0", 0)) == "bad_candidate", bad
    # The browser's end-of-candidates marker is accepted.
    assert await worker.request(AddCandidate(ROOM, ALICE, "", "0", 0)) == Ack()


async def test_lab_worker_accepts_private_candidates() -> None:
    # Only a lab worker probes private addresses; loopback keeps the probes on this machine.
    lab = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    try:
        assert await lab.request(OpenRoom(ROOM)) == Ack()
        assert isinstance(await lab.request(Negotiate(ROOM, ALICE, await client_offer())), Answer)
        loopback = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"
        for line in (loopback, loopback.removeprefix("candidate:")):
            assert await lab.request(AddCandidate(ROOM, ALICE, line, "0", 0)) == Ack()
        assert await lab.request(AddCandidate(ROOM, ALICE, loopback, None, None)) == Ack()
    finally:
        await lab.close()


async def test_open_room_is_idempotent_and_checks_kinds(worker: LocalMediaWorker) -> None:
    assert await worker.request(OpenRoom(ROOM)) == Ack()
    assert await code(worker, OpenRoom(RoomId("bad"), kinds=("smell",))) == "bad_request"
    assert await code(worker, OpenRoom(RoomId("bad"), kinds=())) == "bad_request"
    assert await worker.request(CloseRoom(ROOM)) == Ack()
    assert await code(worker, CloseRoom(ROOM)) == "not_found"


async def test_bad_ice_server_config_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="TURN"):
        LocalMediaWorker([{"urls": "turn:turn.example.org"}], False)
    with pytest.raises(ValueError, match="urls"):
        LocalMediaWorker([{"url": "stun:stun.example.org"}], False)
