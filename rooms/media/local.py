"""``LocalMediaWorker``: the media worker running in this process, reached through messages.

It owns one aiortc ``RTCPeerConnection`` per participant and forwards RTP packets between
them (docs/media.md). Every room mutation runs under the room's lock, so a fast reload
(two offers from one participant) or a leave during a negotiation cannot interleave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.sdp import candidate_from_sdp

from rooms.ice import CandidateError, check_candidate, ice_servers_from_dicts
from rooms.media.answer import enable_opus_fec
from rooms.media.codec_audit import install_codec_hooks
from rooms.media.counters import MediaCounters
from rooms.media.fastpath import Handlers, install_receive
from rooms.media.lab import InboundLoss
from rooms.media.link import LinkState
from rooms.media.offer import MEDIA_KINDS, Offer, bad_sdp, check_offer, preferred_codecs
from rooms.media.outstream import OutStream
from rooms.media.passthrough import ReceiverState
from rooms.media.peer import Peer, Publication
from rooms.media.recording import RecordingControl
from rooms.media.routing import assign_slots
from rooms.media.simulcast import layers_from_offer
from rooms.media.sink import PacketSink
from rooms.media.slotted_offer import check_slotted_offer
from rooms.media.slotted_peer import SlottedPeer
from rooms.messages import (
    Ack,
    AddCandidate,
    Answer,
    CloseRoom,
    ErrorReply,
    GetRouting,
    GetStats,
    Leave,
    MediaWorkerError,
    Negotiate,
    OpenRoom,
    ParticipantId,
    PauseRecording,
    Reply,
    Request,
    ResumeRecording,
    RoomId,
    RoutingTable,
    SetRouting,
    StartRecording,
    StopRecording,
    WorkerStats,
)

logger = logging.getLogger(__name__)

TICK = 0.1  # NACK re-sends, keyframe retries and link timers run this often
#: Told when a subscriber's video link changes (rooms.media.link): room, subscriber, state
#: ("audio_only", "trial", "video"); signaling tells the call's participants.
OnLink = Callable[[RoomId, ParticipantId, str], Coroutine[Any, Any, None]]


@dataclass
class _Room:
    room_id: RoomId
    kinds: tuple[str, ...]
    peers: dict[ParticipantId, Peer] = field(default_factory=dict)  # in join order
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Multi-party rooms (SetRouting): who may receive whom; None = everyone (consultations).
    policy: SetRouting | None = None
    slots: dict[ParticipantId, list[ParticipantId | None]] = field(default_factory=dict)

    def may_receive(self, subscriber: ParticipantId, publisher: ParticipantId,
                    kind: str | None) -> bool:
        """The routing table's verdict; ``kind`` None asks whether any kind may pass."""
        if self.policy is None:
            return True
        if (subscriber, publisher) not in self.policy.allowed:
            return False
        return not (kind == "audio" and publisher in self.policy.muted)


class LocalMediaWorker:
    """Hosts rooms' peer connections in this process; implements ``rooms.worker.MediaWorker``.

    ``ice_servers``: RTCIceServer-like dicts ``{urls, username?, credential?}`` the worker
    gathers through (STUN/TURN). ``allow_private_candidates``: accept client candidates with
    private, loopback or link-local addresses (labs and tests only). ``inbound_loss``: drop
    that share of incoming RTP packets (loss tests only, ``rooms.media.lab``); ``estimate_cap``:
    what the link guards see of a subscriber's estimate (lab only, ``rooms.media.lab``). Constructing a worker
    installs the codec hooks into aiortc once per process (``codec_audit``). ``sink``: the
    recorder, fed by ``StartRecording`` and the other recording messages (docs/recording.md).
    ``lab_estimate_cap``: participant -> bit/s; that subscriber's bandwidth estimates count as
    at most that (simulcast tests only: a receiver on a narrow link without shaping one).
    """

    def __init__(self, ice_servers: Sequence[Mapping[str, Any]],
                 allow_private_candidates: bool, *,
                 clock: Callable[[], float] = time.monotonic,
                 inbound_loss: float = 0.0, sink: PacketSink | None = None,
                 on_link: OnLink | None = None,
                 estimate_cap: Callable[[int], int] | None = None,
                 lab_estimate_cap: Mapping[str, int] | None = None) -> None:
        self._on_link = on_link
        self._link_estimate_cap = estimate_cap  # lab only: rooms.media.lab.EstimateCap
        self._layer_estimate_caps = dict(lab_estimate_cap or {})  # lab only: simulcast
        self._inbound_loss = InboundLoss(inbound_loss) if inbound_loss else None
        self._ice_servers = ice_servers_from_dicts(ice_servers)
        self._allow_private = allow_private_candidates
        self._clock = clock
        self._registry = install_codec_hooks()
        self._counters = MediaCounters()
        self._rooms: dict[RoomId, _Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False
        self._recording = RecordingControl(sink, clock) if sink is not None else None

    async def request(self, message: Request) -> Reply:
        """Handle one message; a refusal is an ``ErrorReply``, never an exception."""
        if self._closed:
            return ErrorReply("media_unavailable", "the media worker is closed")
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._run_ticker())
        try:
            return await self._handle(message)
        except MediaWorkerError as exc:
            return ErrorReply(exc.code, exc.message)
        except Exception:
            logger.exception("media worker failed on %s", type(message).__name__)
            return ErrorReply("internal", "the media worker failed; see its log")

    def room_ids(self) -> frozenset[RoomId]:
        """The rooms open here (reconciliation compares them with the database's)."""
        return frozenset(self._rooms)

    async def close(self) -> None:
        """Close every peer connection and stop every task; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
        rooms = list(self._rooms.values())
        self._rooms.clear()
        for room in rooms:
            await self._close_room(room)
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, message: Request) -> Reply:
        match message:
            case OpenRoom():
                return self._open_room(message)
            case Negotiate():
                return await self._negotiate(message)
            case AddCandidate():
                return await self._add_candidate(message)
            case Leave():
                return await self._leave(message)
            case CloseRoom():
                room = self._room(message.room_id)
                del self._rooms[message.room_id]
                if self._recording is not None:
                    self._recording.room_closed(message.room_id)
                await self._close_room(room)
                return Ack()
            case GetStats():
                return self._stats()
            case SetRouting():
                return await self._set_routing(message)
            case GetRouting():
                return self._routing_table(self._room(message.room_id))
            case StartRecording() | StopRecording() | PauseRecording() | ResumeRecording():
                if self._recording is None:
                    raise MediaWorkerError("recording_unavailable", "this worker has no recorder")
                return self._recording.handle(message)
        raise MediaWorkerError("bad_message", f"not a request: {type(message).__name__}")

    def _room(self, room_id: RoomId) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise MediaWorkerError("not_found", f"no room {room_id!r} on this worker")
        return room

    def _open_room(self, message: OpenRoom) -> Reply:
        kinds = tuple(dict.fromkeys(message.kinds))
        if not kinds or any(k not in MEDIA_KINDS for k in kinds):
            raise MediaWorkerError("bad_request", f"kinds must be audio and/or video: {kinds}")
        # Idempotent: a second OpenRoom keeps the room, its peers and its original kinds.
        self._rooms.setdefault(message.room_id, _Room(message.room_id, kinds))
        return Ack()

    async def _negotiate(self, message: Negotiate) -> Reply:
        room = self._room(message.room_id)
        if room.policy is None:
            offer = check_offer(message.sdp, allow_private_candidates=self._allow_private)
        else:
            offer = check_slotted_offer(message.sdp, allow_private_candidates=self._allow_private,
                                        max_slots=room.policy.max_slots)
        pid = message.participant_id
        async with room.lock:
            # The new connection is made first: a bad re-offer leaves the old one working.
            peer = await self._open_peer(room, pid, offer)
            old = room.peers.get(pid)
            room.peers[pid] = peer  # a reconnect keeps the participant's place in join order
            self._reroute(room)
            if self._recording is not None:  # the recorder reads every publication once
                self._recording.tap(room.room_id, peer)
            if old is not None:
                # Reload or reconnect: the browser's old connection is gone or going.
                await old.close()
            return Answer(sdp=enable_opus_fec(peer.pc.localDescription.sdp))

    async def _open_peer(self, room: _Room, pid: ParticipantId, offer: Offer) -> Peer:
        if room.policy is None:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        else:
            # Several m-lines per kind: aiortc's default (balanced) policy would give a second
            # video m-line the first video transport, which BUNDLE then discards unreplaced.
            pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers,
                                                    bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        peer = SlottedPeer(pid, pc)
        try:
            # In m-line order: aiortc pairs each offered m-line with the first unpaired
            # transceiver of its kind, so slot i is the i-th m-line of the kind.
            for kind in offer.kinds:
                if kind in peer.publications or kind in peer.forwarders:
                    self._add_slot_transceiver(room, peer, kind)
                else:
                    self._add_transceiver(room, peer, kind)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
            except Exception as exc:
                raise bad_sdp(f"offer refused: {exc}") from exc
            await pc.setLocalDescription(await pc.createAnswer())
            video = peer.publications.get("video")
            if video is not None:
                # Simulcast: the layers arrive on SSRCs of the one video m-line; aiortc's
                # router hands them all to its one receiving transceiver (by payload type).
                video.set_layers(layers_from_offer(offer.sdp))
            # Gathered by now: the connection's sockets exist and can be read directly.
            handlers: Handlers = {pub.receiver: pub.on_rtp for pub in peer.publications.values()}
            for dtls in {t.receiver.transport for t in pc.getTransceivers()}:
                install_receive(dtls, handlers)
        except BaseException:
            await peer.close()
            raise

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "failed":
                self._spawn(self._drop_failed(room, peer))

        return peer

    def _add_transceiver(self, room: _Room, peer: Peer, kind: str) -> None:
        """One sendrecv transceiver: the browser's media comes in, another's goes back."""
        forwarded = kind in room.kinds
        transceiver = peer.pc.addTransceiver(kind, "sendrecv" if forwarded else "inactive")
        transceiver.setCodecPreferences(preferred_codecs(kind))
        if not forwarded:
            return
        state = ReceiverState(kind)
        publication = Publication(kind, transceiver.receiver, state, self._counters,
                                  self._spawn, self._clock)
        self._registry.own_receiver(transceiver.receiver, state, self._counters)
        publication.inbound_loss = self._inbound_loss
        self._registry.own_sender(transceiver.sender, self._counters)
        peer.publications[kind] = publication
        peer.forwarders[kind] = self._out_stream(room, peer, kind, transceiver.sender)

    def _add_slot_transceiver(self, room: _Room, peer: SlottedPeer, kind: str) -> None:
        """A further receiving slot: the worker only sends on it (never listens)."""
        forwarded = kind in room.kinds
        transceiver = peer.pc.addTransceiver(kind, "sendonly" if forwarded else "inactive")
        transceiver.setCodecPreferences(preferred_codecs(kind))
        if not forwarded:
            return
        self._registry.own_sender(transceiver.sender, self._counters)
        out = self._out_stream(room, peer, kind, transceiver.sender)
        peer.extra.setdefault(kind, []).append(out)

    def _out_stream(self, room: _Room, peer: Peer, kind: str, sender: RTCRtpSender) -> OutStream:
        def link_changed(state: LinkState) -> None:
            logger.info("room %s: video to %s is now %s", room.room_id, peer.participant_id,
                        state.value)
            if self._on_link is not None:
                self._spawn(self._on_link(room.room_id, peer.participant_id, state.value))
            if state in (LinkState.AUDIO_ONLY, LinkState.TRIAL) and room.policy is None:
                # A consultation (1:1) goes audio only both ways: both pages pause their
                # cameras, so the other direction's reports would only measure audio; and it
                # tries video again both ways (the pages send it only when neither side is
                # audio only).
                for other in list(room.peers.values()):
                    for out in other.out_streams():
                        if other is not peer and out.kind == "video":
                            if state is LinkState.AUDIO_ONLY:
                                out.fall_back()
                            else:
                                out.try_again()

        def video_streams() -> int:
            return sum(1 for o in peer.out_streams()
                       if o.kind == "video" and o.publisher is not None)

        # A subscriber's REMB caps its publisher in a 1:1 consultation only: in a room with a
        # routing table (several receivers) one weak or new subscriber's estimate would hold
        # the publisher back for everyone (measured: bench/media.py's third page); such rooms
        # keep the worker's own estimate of the uplink until simulcast exists.
        out = OutStream(kind, sender, self._counters, self._clock, on_link=link_changed,
                        siblings=video_streams, relays_remb=lambda: room.policy is None,
                        estimate_cap=self._link_estimate_cap)
        out.lab_estimate_cap = self._layer_estimate_caps.get(peer.participant_id)
        return out

    async def _set_routing(self, message: SetRouting) -> Reply:
        room = self._room(message.room_id)
        if not 1 <= message.max_slots <= 16:
            raise MediaWorkerError("bad_request", "max_slots must be 1-16")
        async with room.lock:
            room.policy = message
            self._reroute(room)
            return self._routing_table(room)

    def _routing_table(self, room: _Room) -> RoutingTable:
        return RoutingTable(room_id=room.room_id,
                            slots={pid: list(room.slots.get(pid, [])) for pid in room.peers})

    def _reroute(self, room: _Room) -> None:
        """Point every forwarding track at the publisher its slot names, and nothing where the
        routing table forbids it (a caucus): the track then gets no packets at all."""
        for pid in [p for p in room.slots if p not in room.peers]:
            del room.slots[pid]
        for pid, peer in room.peers.items():
            size = peer.slot_count() if isinstance(peer, SlottedPeer) else 1
            wanted = [p for p in room.peers if p != pid and room.may_receive(pid, p, None)]
            slots = assign_slots(room.slots.get(pid, []), wanted, size)
            room.slots[pid] = slots
            for index, source_id in enumerate(slots):
                tracks = (peer.slot_tracks(index) if isinstance(peer, SlottedPeer)
                          else dict(peer.forwarders))
                for kind, track in tracks.items():
                    source = room.peers.get(source_id) if source_id is not None else None
                    allowed = source_id is not None and room.may_receive(pid, source_id, kind)
                    publication = source.publications.get(kind) if source and allowed else None
                    if publication is not None and not publication.received:
                        publication = None  # the browser sends nothing on that transceiver
                    if track.publisher is not publication:
                        track.attach(publication)

    def forwarding_sources(self, room_id: RoomId, participant_id: ParticipantId
                           ) -> dict[tuple[str, int], ParticipantId | None]:
        """What each of a participant's forwarding tracks is fed from right now, read from the
        tracks themselves: (kind, slot) -> publishing participant, or None (no packets)."""
        room = self._room(room_id)
        peer = room.peers[participant_id]
        owners = {id(pub): p.participant_id for p in room.peers.values()
                  for pub in p.publications.values()}
        size = peer.slot_count() if isinstance(peer, SlottedPeer) else 1
        result: dict[tuple[str, int], ParticipantId | None] = {}
        for index in range(size):
            tracks = (peer.slot_tracks(index) if isinstance(peer, SlottedPeer)
                      else dict(peer.forwarders))
            for kind, track in tracks.items():
                publisher = track.publisher
                result[(kind, index)] = owners.get(id(publisher)) if publisher else None
        return result

    async def _add_candidate(self, message: AddCandidate) -> Reply:
        room = self._room(message.room_id)
        if not message.candidate.strip():
            candidate = None  # the browser's end-of-candidates marker
        else:
            try:
                body = check_candidate(message.candidate, allow_private=self._allow_private)
                candidate = candidate_from_sdp(body)
            except (CandidateError, AssertionError, ValueError, IndexError) as exc:
                raise MediaWorkerError("bad_candidate",
                                       str(exc) or "malformed candidate") from exc
            candidate.sdpMid = message.sdp_mid
            candidate.sdpMLineIndex = message.sdp_mline_index
            if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
                candidate.sdpMLineIndex = 0  # everything is bundled on the first m-line
        # Under the room lock: a candidate trickled while the offer is still being answered
        # waits for that answer and reaches the new connection, not the one it replaces.
        async with room.lock:
            peer = room.peers.get(message.participant_id)
            if peer is None:
                raise MediaWorkerError("no_offer", "no peer connection yet: send the offer first")
            try:
                await peer.pc.addIceCandidate(candidate)
            except Exception as exc:
                raise MediaWorkerError("bad_candidate", f"candidate refused: {exc}") from exc
        return Ack()

    async def _leave(self, message: Leave) -> Reply:
        room = self._room(message.room_id)
        async with room.lock:
            peer = room.peers.pop(message.participant_id, None)
            self._reroute(room)
        if peer is not None:
            await peer.close()
        return Ack()

    async def _close_room(self, room: _Room) -> None:
        async with room.lock:
            peers = list(room.peers.values())
            room.peers.clear()
        for peer in peers:
            await peer.close()

    async def _drop_failed(self, room: _Room, peer: Peer) -> None:
        # ICE or DTLS failed for good: free the connection (and its decoder threads); the
        # browser reconnects with a new offer.
        async with room.lock:
            if room.peers.get(peer.participant_id) is peer:
                del room.peers[peer.participant_id]
                self._reroute(room)
        await peer.close()

    def _stats(self) -> WorkerStats:
        forwarded, decoded, encoded, keyframes = self._counters.snapshot()
        return WorkerStats(
            rooms=len(self._rooms),
            peer_connections=sum(len(r.peers) for r in self._rooms.values()),
            forwarded_frames={kind: forwarded.get(kind, 0) for kind in MEDIA_KINDS},
            decoded_frames=decoded,
            encoded_frames=encoded,
            keyframe_requests=keyframes,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a fire-and-forget coroutine as a task the worker owns (cancelled by close)."""
        if self._closed:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("media worker task failed", exc_info=task.exception())

    async def _run_ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            now = self._clock()
            for room in list(self._rooms.values()):
                for peer in list(room.peers.values()):
                    try:
                        for publication in list(peer.publications.values()):
                            await publication.tick(now)
                        for out in peer.out_streams():
                            out.tick(now)
                    except Exception:
                        logger.exception("periodic duty of %s failed", peer.participant_id)
