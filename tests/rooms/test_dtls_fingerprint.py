"""An offer without a DTLS certificate fingerprint is refused (issue 14, point 6): without one
the handshake would accept any certificate, so whoever answered first on the path could sit in
the middle of the media. Session-level fingerprints count (RFC 8122 allows both levels)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from rooms.media.local import LocalMediaWorker
from rooms.media.slotted_offer import check_slotted_offer
from rooms.messages import (
    Answer,
    ErrorReply,
    MediaWorkerError,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
)
from tests.rooms.media_clients import Client

ROOM = RoomId("r")
ALICE = ParticipantId("alice")
FINGERPRINT = re.compile(r"^a=fingerprint:.*\r\n", re.MULTILINE)


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    await w.request(OpenRoom(ROOM))
    yield w
    await w.close()


@pytest.fixture
async def offer() -> str:
    """A real offer from an aiortc client (fingerprints at media level)."""
    client = Client(LocalMediaWorker([], True), ROOM, "x", luma=0)
    try:
        sdp = await client.offer()
    finally:
        await client.close()
    assert FINGERPRINT.search(sdp)
    return sdp


def without_fingerprints(sdp: str) -> str:
    return FINGERPRINT.sub("", sdp)


def at_session_level(sdp: str) -> str:
    lines = FINGERPRINT.findall(sdp)
    first_media = without_fingerprints(sdp).index("m=")
    bare = without_fingerprints(sdp)
    return bare[:first_media] + "".join(dict.fromkeys(lines)) + bare[first_media:]


async def test_an_offer_without_a_fingerprint_is_refused(worker: LocalMediaWorker,
                                                         offer: str) -> None:
    reply = await worker.request(Negotiate(ROOM, ALICE, without_fingerprints(offer)))
    assert isinstance(reply, ErrorReply), reply
    assert reply.code == "no_dtls_fingerprint"


async def test_one_m_line_without_a_fingerprint_is_enough_to_refuse(
    worker: LocalMediaWorker, offer: str
) -> None:
    video = offer.index("m=video")
    sdp = offer[:video] + without_fingerprints(offer[video:])
    reply = await worker.request(Negotiate(ROOM, ALICE, sdp))
    assert isinstance(reply, ErrorReply) and reply.code == "no_dtls_fingerprint"


@pytest.mark.parametrize("line", [
    "a=fingerprint:sha-1 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01\r\n",
    "a=fingerprint:md5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n",
    "a=fingerprint:sha-256 AB:CD\r\n",
    "a=fingerprint:sha-256 " + ":".join(["ZZ"] * 32) + "\r\n",
])
async def test_a_weak_or_malformed_fingerprint_is_refused(worker: LocalMediaWorker, offer: str,
                                                          line: str) -> None:
    bare = without_fingerprints(offer)
    sdp = bare[:bare.index("m=")] + line + bare[bare.index("m="):]
    reply = await worker.request(Negotiate(ROOM, ALICE, sdp))
    assert isinstance(reply, ErrorReply) and reply.code == "no_dtls_fingerprint"


async def test_a_session_level_fingerprint_is_accepted(worker: LocalMediaWorker,
                                                       offer: str) -> None:
    reply = await worker.request(Negotiate(ROOM, ALICE, at_session_level(offer)))
    assert isinstance(reply, Answer), reply


async def test_the_mediation_offer_check_refuses_it_too(offer: str) -> None:
    with pytest.raises(MediaWorkerError) as caught:
        check_slotted_offer(without_fingerprints(offer), allow_private_candidates=True,
                            max_slots=7)
    assert caught.value.code == "no_dtls_fingerprint"
    assert check_slotted_offer(at_session_level(offer), allow_private_candidates=True,
                               max_slots=7).kinds == ("audio", "video")
