"""The recorder: a ``PacketSink`` that keeps one ``ParticipantWriter`` per recorded participant,
spread over a few writer threads (``WriterConfig.lanes``).

It runs inside the media worker's process. Writers report closed segments and finished
participants through ``on_event`` from their own threads; ``recordings.service`` turns those
into database rows and manifest entries on the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

import av

from recordings.lanes import WriterLane
from recordings.storage import RecordingStorage, check_name
from recordings.writer import OnEvent, ParticipantWriter, WriterConfig
from rooms.media.sink import CaseId, RecordingId
from rooms.messages import ParticipantId, RoomId

logger = logging.getLogger(__name__)


class Recorder:
    """Implements ``rooms.media.sink.PacketSink``; every method returns at once."""

    def __init__(self, storage: RecordingStorage, on_event: OnEvent,
                 config: WriterConfig | None = None) -> None:
        self._storage = storage
        self._on_event = on_event
        self._config = config or WriterConfig()
        self._lanes = [WriterLane(f"recording-lane-{i}") for i in range(self._config.lanes)]
        self._started = 0
        self._writers: dict[tuple[RoomId, ParticipantId], ParticipantWriter] = {}
        self._finished: list[ParticipantWriter] = []
        self._closed = False

    def start_participant(self, room_id: RoomId, recording_id: RecordingId, case_id: CaseId,
                          participant_id: ParticipantId, at: float) -> None:
        if self._closed:
            raise RuntimeError("the recorder is closed")
        key = (room_id, participant_id)
        if key in self._writers:
            return
        for value, what in ((case_id, "case id"), (recording_id, "recording id"),
                            (participant_id, "participant id")):
            check_name(value, what)
        lane = self._lanes[self._started % len(self._lanes)]
        self._started += 1
        self._writers[key] = ParticipantWriter(self._storage, case_id, recording_id,
                                               participant_id, at, self._on_event, self._config,
                                               lane)

    def stop_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        writer = self._writers.pop((room_id, participant_id), None)
        if writer is not None:
            writer.stop()
            self._finished.append(writer)

    def pause_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        writer = self._writers.get((room_id, participant_id))
        if writer is not None:
            writer.pause()

    def resume_participant(self, room_id: RoomId, participant_id: ParticipantId, at: float) -> None:
        writer = self._writers.get((room_id, participant_id))
        if writer is not None:
            writer.resume()

    def packet(self, room_id: RoomId, participant_id: ParticipantId, kind: str,
               packet: av.Packet[Any], arrival: float) -> None:
        writer = self._writers.get((room_id, participant_id))
        if writer is not None:
            writer.offer(kind, packet, arrival)

    def wants_keyframe(self, room_id: RoomId, participant_id: ParticipantId) -> bool:
        writer = self._writers.get((room_id, participant_id))
        return writer is not None and writer.wants_keyframe

    def dropped(self) -> dict[str, int]:
        """Packets dropped on full queues, by kind, over the running writers."""
        total = {"audio": 0, "video": 0}
        for writer in self._writers.values():
            for kind, count in writer.dropped.items():
                total[kind] = total.get(kind, 0) + count
        return total

    def close(self, timeout: float = 10.0) -> bool:
        """Stop every writer, wait for their last segments and end the writer threads
        (blocking: call it in a thread at shutdown). True when all finished in time.
        Idempotent."""
        self._closed = True
        for key in list(self._writers):
            self.stop_participant(*key, at=0.0)
        done = all(writer.join(timeout) for writer in self._finished)
        self._finished = [w for w in self._finished if not w.join(0)]
        return all([lane.close(timeout) for lane in self._lanes]) and done
