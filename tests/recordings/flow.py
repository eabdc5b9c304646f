"""A whole recording made through the service and the recorder, for the flow, export, verify
and retention tests: two participants, real encoded media, three segments each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from recordings.models import Recording
from recordings.recorder import Recorder
from recordings.service import RecordingService
from recordings.storage import RecordingStorage
from recordings.writer import WriterConfig
from rooms.media.sink import CaseId, RecordingId
from rooms.messages import ParticipantId, RoomId
from server.db import Database
from tests.recordings.conftest import CASE, T0
from tests.recordings.media import Timed

ROOM = RoomId("room1")
PARTICIPANTS = (ParticipantId("alice"), ParticipantId("bob"))
NOTICE = "本次通话将被录音录像,作为调解记录保存。/ This call is recorded as part of the record."


@dataclass
class Wall:
    """A settable wall clock for the service."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


async def consent_all(service: RecordingService, participants: tuple[str, ...] = PARTICIPANTS,
                      decision: str = "granted") -> None:
    for pid in participants:
        await service.record_consent(case_id=CASE, room_id=ROOM, participant_id=pid,
                                     role="citizen" if pid == "alice" else "lawyer",
                                     decision=decision, text_shown=NOTICE, text_version="v1",
                                     now=T0)


async def record(db: Database, storage: RecordingStorage, packets: list[Timed],
                 wall: Wall | None = None) -> Recording:
    wall = wall or Wall()
    service = RecordingService(db, storage, wall)
    await service.start()
    try:
        await consent_all(service)
        recording = await service.begin(CASE, ROOM, PARTICIPANTS)
        recorder = Recorder(storage, service.on_event, WriterConfig(rotate_s=1.5))
        origin = 500.0
        for pid in PARTICIPANTS:
            recorder.start_participant(ROOM, RecordingId(recording.id), CaseId(CASE), pid,
                                       origin)
        for item in packets:
            for offset, pid in enumerate(PARTICIPANTS):
                recorder.packet(ROOM, pid, item.kind, item.packet, origin + item.at + offset / 100)
        wall.now = T0 + timedelta(seconds=5)
        await service.note(recording.id, "paused")
        for pid in PARTICIPANTS:
            recorder.stop_participant(ROOM, pid, origin + 5)
        ended = await service.end(recording.id)
        assert recorder.close(10)
        return ended
    finally:
        await service.close()
