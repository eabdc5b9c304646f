"""In-process integration: two aiortc "browsers" talk through a LocalMediaWorker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, GetStats, Leave, OpenRoom, RoomId, WorkerStats
from tests.rooms.media_clients import Client, eventually, mean_luma

ROOM = RoomId("room-1")
DARK, BRIGHT = 50, 200


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    assert await w.request(OpenRoom(ROOM)) == Ack()
    yield w
    await w.close()


async def stats(worker: LocalMediaWorker) -> WorkerStats:
    reply = await worker.request(GetStats())
    assert isinstance(reply, WorkerStats)
    return reply


def sees(client: Client, luma: int, after: int = 0) -> bool:
    """``client`` decoded a real 640x480 frame of the peer whose picture has ``luma``."""
    return any(f.width == 640 and f.height == 480 and abs(mean_luma(f) - luma) < 30
               for f in client.video_frames[after:])


async def test_two_clients_receive_each_other_without_server_codec_work(
        worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=DARK)
    bob = Client(worker, ROOM, "bob", luma=BRIGHT)
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: sees(alice, BRIGHT) and sees(bob, DARK),
                         "each client decodes the other's 640x480 video")
        await eventually(lambda: alice.audio_frames > 10 and bob.audio_frames > 10,
                         "each client decodes the other's audio")
        s = await stats(worker)
        assert s.rooms == 1 and s.peer_connections == 2
        assert s.forwarded_frames["video"] > 0 and s.forwarded_frames["audio"] > 0
        assert s.decoded_frames == 0, "the worker decoded media"
        assert s.encoded_frames == 0, "the worker encoded media"
        assert s.keyframe_requests >= 0
    finally:
        await alice.close()
        await bob.close()


async def test_reconnect_replaces_the_peer_connection_and_media_resumes(
        worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=DARK)
    bob = Client(worker, ROOM, "bob", luma=BRIGHT)
    alice2: Client | None = None
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: sees(alice, BRIGHT) and sees(bob, DARK), "first call up")

        # Alice reloads: her old connection goes away, a new offer replaces it.
        await alice.close()
        before = bob.video_count
        received_before = (await stats(worker)).forwarded_frames["video"]
        alice2 = Client(worker, ROOM, "alice", luma=DARK)
        await alice2.negotiate()
        assert (await stats(worker)).peer_connections == 2
        await eventually(lambda: sees(alice2, BRIGHT), "reconnected alice sees bob again")
        await eventually(lambda: bob.video_count > before + 10,
                         "bob receives alice's video again after her reconnect")
        assert sees(bob, DARK, after=-5)
        s = await stats(worker)
        assert s.forwarded_frames["video"] > received_before
        assert s.decoded_frames == 0 and s.encoded_frames == 0
        assert s.keyframe_requests > 0, "a reattach asks the publisher for a keyframe"
    finally:
        await bob.close()
        await alice.close()
        if alice2 is not None:
            await alice2.close()


async def test_audio_only_room(worker: LocalMediaWorker) -> None:
    room = RoomId("audio-room")
    assert await worker.request(OpenRoom(room, kinds=("audio",))) == Ack()
    alice = Client(worker, room, "alice", luma=DARK, video=False)
    bob = Client(worker, room, "bob", luma=BRIGHT, video=False)
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: alice.audio_frames > 10 and bob.audio_frames > 10,
                         "audio both ways")
        assert (await stats(worker)).decoded_frames == 0
    finally:
        await alice.close()
        await bob.close()


async def test_leave_and_close_shut_peer_connections(worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=DARK)
    try:
        await alice.negotiate()
        assert (await stats(worker)).peer_connections == 1
        assert await worker.request(Leave(ROOM, alice.participant_id)) == Ack()
        assert (await stats(worker)).peer_connections == 0
        # Leaving twice is fine.
        assert await worker.request(Leave(ROOM, alice.participant_id)) == Ack()
    finally:
        await alice.close()
    await worker.close()
    await worker.close()  # idempotent
    reply = await worker.request(GetStats())
    assert getattr(reply, "code", None) == "media_unavailable"
