"""Messages between signaling and a media worker.

The media worker is reached only through these messages, so that it can run in this process
(``LocalMediaWorker``) or as a process of its own behind a message bus. Every message is a frozen
dataclass with ``to_dict``/``from_dict`` and a ``type`` tag.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, NewType

RoomId = NewType("RoomId", str)
ParticipantId = NewType("ParticipantId", str)

MAX_SDP_BYTES = 64 * 1024


class MediaWorkerError(Exception):
    """A request the worker refused; ``code`` is one of the stable error codes in docs/protocol.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Message:
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class OpenRoom(_Message):
    """Create a room. ``kinds`` are the media kinds forwarded in it ("audio", "video")."""

    type: ClassVar[str] = "open_room"
    room_id: RoomId
    kinds: tuple[str, ...] = ("audio", "video")


@dataclass(frozen=True)
class Negotiate(_Message):
    """A participant's SDP offer; the reply is an ``Answer``. A new offer from the same
    participant replaces their previous peer connection (reload, reconnect)."""

    type: ClassVar[str] = "negotiate"
    room_id: RoomId
    participant_id: ParticipantId
    sdp: str


@dataclass(frozen=True)
class Answer(_Message):
    type: ClassVar[str] = "answer"
    sdp: str


@dataclass(frozen=True)
class AddCandidate(_Message):
    """A trickled ICE candidate for the participant's current peer connection."""

    type: ClassVar[str] = "add_candidate"
    room_id: RoomId
    participant_id: ParticipantId
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


@dataclass(frozen=True)
class Leave(_Message):
    """The participant left or hung up: close their peer connection."""

    type: ClassVar[str] = "leave"
    room_id: RoomId
    participant_id: ParticipantId


@dataclass(frozen=True)
class CloseRoom(_Message):
    type: ClassVar[str] = "close_room"
    room_id: RoomId


@dataclass(frozen=True)
class Ack(_Message):
    type: ClassVar[str] = "ack"


@dataclass(frozen=True)
class WorkerStats(_Message):
    """Counters a test or /metrics reads. ``decoded_frames`` and ``encoded_frames`` count codec
    work done by the worker and must stay zero: it forwards encoded frames only."""

    type: ClassVar[str] = "stats"
    rooms: int = 0
    peer_connections: int = 0
    forwarded_frames: dict[str, int] = field(default_factory=dict)
    decoded_frames: int = 0
    encoded_frames: int = 0
    keyframe_requests: int = 0


@dataclass(frozen=True)
class GetStats(_Message):
    type: ClassVar[str] = "get_stats"


@dataclass(frozen=True)
class ErrorReply(_Message):
    type: ClassVar[str] = "error"
    code: str
    message: str


@dataclass(frozen=True)
class SetRouting(_Message):
    """Who may receive whom in a room, from the room model (rooms.caucus): the worker forwards
    a publisher's media to a subscriber only for listed ``allowed`` (subscriber, publisher)
    pairs, and no audio of ``muted`` publishers. Once a room has a routing table anything not
    listed is refused (default deny). The reply is a ``RoutingTable``. ``max_slots``: how many
    remote participants one browser may receive (m-lines per kind in its offer)."""

    type: ClassVar[str] = "set_routing"
    room_id: RoomId
    allowed: tuple[tuple[ParticipantId, ParticipantId], ...] = ()
    muted: tuple[ParticipantId, ...] = ()
    max_slots: int = 7

    def __post_init__(self) -> None:
        # from_dict hands over JSON lists; keep the message hashable and comparable.
        object.__setattr__(self, "allowed", tuple((ParticipantId(s), ParticipantId(p))
                                                  for s, p in self.allowed))
        object.__setattr__(self, "muted", tuple(self.muted))


@dataclass(frozen=True)
class GetRouting(_Message):
    type: ClassVar[str] = "get_routing"
    room_id: RoomId


@dataclass(frozen=True)
class RoutingTable(_Message):
    """For each connected participant, the publisher on each of their receiving slots (slot i is
    the i-th m-line of each kind in their offer; None: nothing is forwarded on it)."""

    type: ClassVar[str] = "routing_table"
    room_id: RoomId
    slots: dict[str, list[str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class StartRecording(_Message):
    """Record these participants of the room (every one of them consented) as ``recording_id``,
    into the case's folder. Sent again with the same ``recording_id`` it updates the set: new
    participants start, those left out stop. A participant not named is never written."""

    type: ClassVar[str] = "start_recording"
    room_id: RoomId
    recording_id: str
    participant_ids: tuple[ParticipantId, ...]
    case_id: str

    def __post_init__(self) -> None:
        # from_dict hands over a JSON list.
        object.__setattr__(self, "participant_ids", tuple(self.participant_ids))


@dataclass(frozen=True)
class StopRecording(_Message):
    """Stop the room's recording; its files are closed and hashed in the background."""

    type: ClassVar[str] = "stop_recording"
    room_id: RoomId
    recording_id: str


@dataclass(frozen=True)
class PauseRecording(_Message):
    """Write nothing of the room until ``ResumeRecording`` (the files stay open)."""

    type: ClassVar[str] = "pause_recording"
    room_id: RoomId
    recording_id: str


@dataclass(frozen=True)
class ResumeRecording(_Message):
    type: ClassVar[str] = "resume_recording"
    room_id: RoomId
    recording_id: str


Request = (OpenRoom | Negotiate | AddCandidate | Leave | CloseRoom | GetStats | SetRouting
           | GetRouting | StartRecording | StopRecording | PauseRecording | ResumeRecording)
Reply = Answer | Ack | WorkerStats | ErrorReply | RoutingTable

_TYPES: dict[str, type[_Message]] = {
    cls.type: cls
    for cls in (OpenRoom, Negotiate, Answer, AddCandidate, Leave, CloseRoom, Ack, WorkerStats,
                GetStats, ErrorReply, SetRouting, GetRouting, RoutingTable, StartRecording,
                StopRecording, PauseRecording, ResumeRecording)
}


def message_from_dict(data: dict[str, Any]) -> _Message:
    """Rebuild a message from ``to_dict`` output; raises ``MediaWorkerError('bad_message')``."""
    try:
        cls = _TYPES[data["type"]]
        fields = {k: v for k, v in data.items() if k != "type"}
        if "kinds" in fields:
            fields["kinds"] = tuple(fields["kinds"])
        return cls(**fields)
    except (KeyError, TypeError) as exc:
        raise MediaWorkerError("bad_message", f"not a media worker message: {exc}") from exc
