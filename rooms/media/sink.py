"""What the media worker hands the recorder: every encoded packet a publisher sends.

The worker (``rooms.media.local.LocalMediaWorker``) calls ``packet`` on the event loop for each
packet of a participant whose recording is running and not paused; participants the current
``StartRecording`` does not name are never passed on. Everything here must return at once:
forwarding must never wait for the disk.
"""

from __future__ import annotations

from typing import Any, NewType, Protocol

import av

from rooms.messages import ParticipantId, RoomId

RecordingId = NewType("RecordingId", str)
CaseId = NewType("CaseId", str)

MEDIA_KINDS = ("audio", "video")


class PacketSink(Protocol):
    """Receives encoded packets and the per-participant lifecycle of a recording.

    ``at`` and ``arrival`` are readings of the worker's monotonic clock; all participants of a
    room share it, which is what lines their tracks up. No method may block.
    """

    def start_participant(self, room_id: RoomId, recording_id: RecordingId, case_id: CaseId,
                          participant_id: ParticipantId, at: float) -> None:
        """Begin writing ``participant_id``'s media for ``recording_id``; idempotent."""

    def stop_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        """Close the participant's files (in the background); idempotent."""

    def pause_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        """No packets follow until ``resume_participant``; the file stays open."""

    def resume_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        """Packets follow again; video is written from the next keyframe."""

    def packet(self, room_id: RoomId, participant_id: ParticipantId, kind: str,
               packet: av.Packet[Any], arrival: float) -> None:
        """One encoded packet (VP8 frame or Opus packet) as received; never blocks."""

    def wants_keyframe(self, room_id: RoomId, participant_id: ParticipantId) -> bool:
        """Whether the writer waits for a video keyframe (start, resume, new segment): the
        worker then asks the publisher for one (rate-limited by the worker)."""
