"""Packet-level forwarding seen from the clients: a packet lost on the way to a subscriber is
sent again from the worker's cache when the subscriber NACKs it, and its REMB reaches the
publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from rooms.media.local import LocalMediaWorker
from rooms.messages import Ack, OpenRoom, ParticipantId, RoomId
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("room-packets")


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    assert await w.request(OpenRoom(ROOM)) == Ack()
    yield w
    await w.close()


def video_transceiver(client: Client) -> Any:
    return next(t for t in client.pc.getTransceivers() if t.kind == "video")


def worker_video_ssrc(worker: LocalMediaWorker, pid: str) -> int:
    """The SSRC the worker sends video to ``pid`` with."""
    peer = worker._rooms[ROOM].peers[ParticipantId(pid)]
    ssrc: int = peer.forwarders["video"].sender._ssrc
    return ssrc


async def test_a_packet_lost_on_the_way_to_a_subscriber_is_sent_again_from_the_cache(
        worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=60)
    bob = Client(worker, ROOM, "bob", luma=200)
    seen: list[int] = []
    receiver = video_transceiver(bob).receiver
    stock = receiver._handle_rtp_packet

    async def counting(packet: RtpPacket, arrival_time_ms: int) -> None:
        seen.append(packet.sequence_number)
        await stock(packet, arrival_time_ms)

    receiver._handle_rtp_packet = counting
    lost: list[int] = []
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: len(seen) > 50, "bob receives alice's video packets")
        out = worker._rooms[ROOM].peers[ParticipantId("bob")].forwarders["video"]
        send = out._send

        def lossy(data: bytes) -> None:
            if not lost and data[0] & 0xC0 == 0x80 and not 192 <= data[1] <= 223:
                lost.append(int.from_bytes(data[2:4], "big"))  # this one never leaves
                return
            send(data)

        out._send = lossy  # type: ignore[method-assign]
        await eventually(lambda: bool(lost), "a packet is lost")
        # Bob's receiver NACKs the gap; the answer must come from the worker's cache, since
        # the publisher's copy was forwarded already.
        await eventually(lambda: lost[0] in seen, "the lost packet reaches bob after all")
    finally:
        await alice.close()
        await bob.close()


async def test_the_subscribers_remb_reaches_the_publisher(worker: LocalMediaWorker) -> None:
    alice = Client(worker, ROOM, "alice", luma=60)
    bob = Client(worker, ROOM, "bob", luma=200)
    told: list[int] = []
    sender = video_transceiver(alice).sender
    stock = sender._handle_rtcp_packet

    async def listening(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            told.append(unpack_remb_fci(packet.fci)[0])
        await stock(packet)

    sender._handle_rtcp_packet = listening
    try:
        await alice.negotiate()
        await bob.negotiate()
        await eventually(lambda: bob.received_video > 10, "bob sees alice")
        # Bob's link is narrow: his browser's estimate says 123 kbit/s for what he receives.
        remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=4321, media_ssrc=0,
                              fci=pack_remb_fci(123_000, [worker_video_ssrc(worker, "bob")]))
        await video_transceiver(bob).receiver.transport._send_rtp(bytes(remb))
        await eventually(lambda: 123_000 in told,
                         "alice's browser is told bob's estimate, to adapt its encoder")
    finally:
        await alice.close()
        await bob.close()
