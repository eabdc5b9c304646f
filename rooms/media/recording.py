"""The media worker's side of recording: which participants' packets reach the sink.

``LocalMediaWorker`` owns one ``RecordingControl`` when it is given a sink. It hands it the
recording messages (``handle``) and every new peer connection (``tap``); a tap listens to each
of the peer's publications (called on the event loop for every packet, no queue or task in
between) and passes a packet on only while the room's recording is running, not paused, and
names the participant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import av

from rooms.media.sink import CaseId, PacketSink, RecordingId
from rooms.messages import (
    Ack,
    MediaWorkerError,
    ParticipantId,
    PauseRecording,
    Reply,
    ResumeRecording,
    RoomId,
    StartRecording,
    StopRecording,
)

if TYPE_CHECKING:  # rooms.media imports this module: no import cycle at run time
    from rooms.media.peer import Peer, Publication

RecordingRequest = StartRecording | StopRecording | PauseRecording | ResumeRecording


@dataclass
class _Active:
    recording_id: str
    case_id: str
    participants: set[ParticipantId] = field(default_factory=set)
    paused: bool = False


class RecordingControl:
    """Routes a room's packets to the sink per the recording messages; all on the event loop."""

    def __init__(self, sink: PacketSink, clock: Callable[[], float]) -> None:
        self._sink = sink
        self._clock = clock
        self._active: dict[RoomId, _Active] = {}

    def handle(self, message: RecordingRequest) -> Reply:
        """Apply a recording message; refusals raise ``MediaWorkerError``."""
        now = self._clock()
        if isinstance(message, StartRecording):
            return self._start(message, now)
        active = self._active.get(message.room_id)
        if active is None or active.recording_id != message.recording_id:
            raise MediaWorkerError("not_found",
                                   f"recording {message.recording_id!r} is not running here")
        if isinstance(message, StopRecording):
            self.room_closed(message.room_id)
        elif isinstance(message, PauseRecording) and not active.paused:
            active.paused = True
            for pid in active.participants:
                self._sink.pause_participant(message.room_id, pid, now)
        elif isinstance(message, ResumeRecording) and active.paused:
            active.paused = False
            for pid in active.participants:
                self._sink.resume_participant(message.room_id, pid, now)
        return Ack()

    def _start(self, message: StartRecording, now: float) -> Reply:
        active = self._active.get(message.room_id)
        if active is not None and active.recording_id != message.recording_id:
            raise MediaWorkerError("recording_active",
                                   f"room {message.room_id!r} is already recording "
                                   f"{active.recording_id!r}")
        if active is None:
            active = self._active[message.room_id] = _Active(message.recording_id,
                                                             message.case_id)
        wanted = set(message.participant_ids)
        for pid in active.participants - wanted:
            self._sink.stop_participant(message.room_id, pid, now)
        for pid in sorted(wanted - active.participants):
            try:
                self._sink.start_participant(message.room_id, RecordingId(active.recording_id),
                                             CaseId(active.case_id), pid, now)
            except ValueError as exc:
                raise MediaWorkerError("bad_request", str(exc)) from exc
            if active.paused:
                self._sink.pause_participant(message.room_id, pid, now)
        active.participants = wanted
        return Ack()

    def room_closed(self, room_id: RoomId) -> None:
        """Stop the room's recording, if any (StopRecording, CloseRoom, shutdown)."""
        active = self._active.pop(room_id, None)
        if active is not None:
            now = self._clock()
            for pid in active.participants:
                self._sink.stop_participant(room_id, pid, now)

    def close(self) -> None:
        for room_id in list(self._active):
            self.room_closed(room_id)

    def recording(self, room_id: RoomId, participant_id: ParticipantId) -> bool:
        """Whether the participant's packets go to the sink now."""
        active = self._active.get(room_id)
        return (active is not None and not active.paused
                and participant_id in active.participants)

    def tap(self, room_id: RoomId, peer: Peer) -> None:
        """Listen to each of ``peer``'s publications for the recorder (call once per new peer
        connection)."""
        for kind, publication in peer.publications.items():
            pid = peer.participant_id
            publication.listen(self._listener(room_id, pid, kind, publication),
                               functools.partial(self.recording, room_id, pid))

    def _listener(self, room_id: RoomId, pid: ParticipantId, kind: str,
                  publication: Publication) -> Callable[[av.Packet[Any]], None]:
        def on_packet(packet: av.Packet[Any]) -> None:
            if not self.recording(room_id, pid):
                return
            arrival = self._clock()
            if kind == "video" and self._sink.wants_keyframe(room_id, pid):
                publication.request_keyframe()  # rate-limited by the publication
            self._sink.packet(room_id, pid, kind, packet, arrival)

        return on_packet
