"""Multi-party forwarding with a routing table: three in-process aiortc "browsers", each
receiving the two others on receiving slots, and a caucus during which the worker feeds the
respondent's forwarding tracks from nobody."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import av
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from rooms import caucus as c
from rooms.media.local import LocalMediaWorker
from rooms.media.routing import assign_slots
from rooms.messages import (
    Ack,
    Answer,
    ErrorReply,
    GetRouting,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
    RoutingTable,
    SetRouting,
    message_from_dict,
)
from server.members import MemberRole, Side
from tests.rooms.media_clients import SyntheticVideo, eventually, mean_luma

ROOM = RoomId("mediation-1")
MED, APP, RESP = ParticipantId("med"), ParticipantId("app"), ParticipantId("resp")
LUMA = {MED: 40, APP: 120, RESP: 210}


class SlotClient:
    """A browser of a mediation room: sendrecv audio+video, then ``slots - 1`` recvonly pairs."""

    def __init__(self, worker: LocalMediaWorker, pid: ParticipantId, slots: int = 2) -> None:
        self.worker = worker
        self.pid = pid
        # max-bundle like a browser (aiortc's balanced policy mis-bundles a second video m-line).
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.frames: dict[tuple[str, int], int] = defaultdict(int)
        self.luma: dict[int, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.addTransceiver(AudioStreamTrack(), "sendrecv")
        self.pc.addTransceiver(SyntheticVideo(LUMA.get(pid, 90)), "sendrecv")
        for _ in range(slots - 1):
            self.pc.addTransceiver("audio", "recvonly")
            self.pc.addTransceiver("video", "recvonly")
        self.pc.on("track", self._on_track)

    def _slot(self, transceiver: RTCRtpTransceiver) -> int:
        same = [t for t in self.pc.getTransceivers() if t.kind == transceiver.kind]
        return same.index(transceiver)

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        self._tasks.append(asyncio.ensure_future(self._consume(track, self._slot(transceiver))))

    async def _consume(self, track: MediaStreamTrack, slot: int) -> None:
        try:
            while True:
                frame = await track.recv()
                self.frames[(track.kind, slot)] += 1
                if isinstance(frame, av.VideoFrame):
                    self.luma[slot] = mean_luma(frame)
        except MediaStreamError:
            pass

    async def negotiate(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await self.worker.request(Negotiate(ROOM, self.pid, self.pc.localDescription.sdp))
        assert isinstance(reply, Answer), reply
        await self.pc.setRemoteDescription(RTCSessionDescription(reply.sdp, "answer"))

    def sees(self, slot: int, pid: ParticipantId) -> bool:
        return abs(self.luma.get(slot, -100) - LUMA[pid]) < 30

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


def routing(state: c.RoomState) -> SetRouting:
    muted = tuple(ParticipantId(m.id) for m in state.members if m.muted)
    allowed = tuple((ParticipantId(s), ParticipantId(p)) for s, p in c.allowed_pairs(state))
    return SetRouting(ROOM, allowed, muted)


def joint_state() -> c.RoomState:
    now = c.datetime.now()  # the clock does not matter here
    state = c.arrive(c.RoomState(), c.Member(MED, MemberRole.MEDIATOR, "m"), now).state
    for pid, role, side in ((APP, MemberRole.APPLICANT, Side.APPLICANT),
                            (RESP, MemberRole.RESPONDENT, Side.RESPONDENT)):
        state = c.arrive(state, c.Member(pid, role, pid, side), now).state
        state = c.admit(state, MED, pid, now).state
    return state


@pytest.fixture
async def worker() -> AsyncIterator[LocalMediaWorker]:
    w = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    assert await w.request(OpenRoom(ROOM)) == Ack()
    yield w
    await w.close()


def test_assign_slots_is_stable() -> None:
    a, b, d = ParticipantId("a"), ParticipantId("b"), ParticipantId("d")
    assert assign_slots([], [a, b], 3) == [a, b, None]
    assert assign_slots([a, b, None], [b, d], 3) == [d, b, None]
    assert assign_slots([d, b, None], [a, b, d], 3) == [d, b, a]
    assert assign_slots([a], [a, b], 1) == [a]
    assert assign_slots([a, b], [], 2) == [None, None]


def test_set_routing_round_trips_as_a_dict() -> None:
    message = SetRouting(ROOM, ((MED, APP),), (RESP,), 3)
    assert message_from_dict(message.to_dict()) == message


async def test_three_parties_and_a_private_caucus(worker: LocalMediaWorker) -> None:
    state = joint_state()
    table = await worker.request(routing(state))
    assert isinstance(table, RoutingTable)
    clients = {pid: SlotClient(worker, pid) for pid in (MED, APP, RESP)}
    try:
        for client in clients.values():
            await client.negotiate()
        table = await worker.request(GetRouting(ROOM))
        assert isinstance(table, RoutingTable)
        for pid in clients:
            others = [p for p in (MED, APP, RESP) if p != pid]
            assert sorted(p for p in table.slots[pid] if p) == sorted(others)
        await eventually(lambda: all(
            client.sees(slot, ParticipantId(str(table.slots[pid][slot])))
            for pid, client in clients.items() for slot in (0, 1)),
            "every client decodes both others' video on the slots the table names")

        # Caucus: the mediator with the applicant; the respondent waits apart.
        now = c.datetime.now()
        state = c.split(state, MED, c.caucus_with(state, Side.APPLICANT), now).state
        table = await worker.request(routing(state))
        assert isinstance(table, RoutingTable)
        assert table.slots[RESP] == [None, None]
        sources = worker.forwarding_sources(ROOM, RESP)
        assert sources and all(source is None for source in sources.values()), sources
        assert APP in worker.forwarding_sources(ROOM, MED).values()
        assert RESP not in worker.forwarding_sources(ROOM, MED).values()
        assert RESP not in worker.forwarding_sources(ROOM, APP).values()

        resp = clients[RESP]
        await asyncio.sleep(0.5)  # frames already in flight drain
        frozen = dict(resp.frames)
        med_before = sum(v for (k, _), v in clients[MED].frames.items() if k == "video")
        await eventually(lambda: sum(v for (k, _), v in clients[MED].frames.items()
                                     if k == "video") > med_before + 20,
                         "the mediator keeps receiving the applicant")
        assert dict(resp.frames) == frozen, "the respondent received media during the caucus"

        # Everyone back together.
        state = c.end_caucus(state, MED, now).state
        table = await worker.request(routing(state))
        assert isinstance(table, RoutingTable)
        assert sorted(p for p in table.slots[RESP] if p) == sorted([MED, APP])
        await eventually(lambda: sum(resp.frames.values()) > sum(frozen.values()) + 40,
                         "the respondent receives again after the caucus")

        # Muting stops the muted member's audio for everyone, video goes on.
        state = c.mute(state, MED, APP, True, now).state
        await worker.request(routing(state))
        for pid in (MED, RESP):
            for (kind, _), source in worker.forwarding_sources(ROOM, pid).items():
                assert not (kind == "audio" and source == APP)
        assert APP in worker.forwarding_sources(ROOM, RESP).values()
        stats = await worker.request(GetRouting(ROOM))
        assert isinstance(stats, RoutingTable)
    finally:
        for client in clients.values():
            await client.close()


async def test_default_deny_and_slot_limits(worker: LocalMediaWorker) -> None:
    # A routing table that does not list the respondent: nothing reaches them or from them.
    assert isinstance(await worker.request(SetRouting(ROOM, ((MED, APP), (APP, MED)), (), 2)),
                      RoutingTable)
    clients = [SlotClient(worker, pid) for pid in (MED, APP, RESP)]
    too_many = SlotClient(worker, ParticipantId("greedy"), slots=3)
    try:
        for client in clients:
            await client.negotiate()
        assert all(v is None for v in worker.forwarding_sources(ROOM, RESP).values())
        assert RESP not in worker.forwarding_sources(ROOM, MED).values()
        await too_many.pc.setLocalDescription(await too_many.pc.createOffer())
        reply = await worker.request(Negotiate(ROOM, too_many.pid,
                                               too_many.pc.localDescription.sdp))
        assert isinstance(reply, ErrorReply) and reply.code == "bad_sdp"
        bad = await worker.request(SetRouting(ROOM, (), (), 0))
        assert isinstance(bad, ErrorReply) and bad.code == "bad_request"
    finally:
        for client in [*clients, too_many]:
            await client.close()
