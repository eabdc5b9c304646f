"""The media worker records through its sink: only the participants StartRecording names,
only while not paused, without any codec work, into decodable files."""

from __future__ import annotations

from pathlib import Path

from recordings.recorder import Recorder
from recordings.storage import LocalRecordingStorage, SegmentKey
from recordings.writer import ParticipantFinished, SegmentClosed, WriterEvent
from rooms.media.local import LocalMediaWorker
from rooms.messages import (
    Ack,
    ErrorReply,
    GetStats,
    OpenRoom,
    ParticipantId,
    PauseRecording,
    ResumeRecording,
    RoomId,
    StartRecording,
    StopRecording,
    WorkerStats,
    message_from_dict,
)
from tests.recordings.media import decode_all
from tests.rooms.media_clients import Client, eventually

ROOM = RoomId("room-r")


def test_recording_messages_round_trip() -> None:
    start = StartRecording(ROOM, "rec1", (ParticipantId("a"), ParticipantId("b")), "case1")
    assert message_from_dict(start.to_dict()) == start
    for message in (StopRecording(ROOM, "rec1"), PauseRecording(ROOM, "rec1"),
                    ResumeRecording(ROOM, "rec1")):
        assert message_from_dict(message.to_dict()) == message


async def test_a_worker_without_a_recorder_refuses() -> None:
    worker = LocalMediaWorker(ice_servers=[], allow_private_candidates=True)
    try:
        reply = await worker.request(StartRecording(ROOM, "rec1", (), "case1"))
        assert isinstance(reply, ErrorReply) and reply.code == "recording_unavailable"
    finally:
        await worker.close()


async def test_only_named_participants_are_recorded(tmp_path: Path) -> None:
    events: list[WriterEvent] = []  # appended from writer threads; list.append is atomic
    storage = LocalRecordingStorage(tmp_path)
    recorder = Recorder(storage, events.append)
    worker = LocalMediaWorker(ice_servers=[], allow_private_candidates=True, sink=recorder)
    clients = [Client(worker, ROOM, name, luma=60 + 40 * i)
               for i, name in enumerate(("alice", "bob", "carol"))]
    try:
        assert await worker.request(OpenRoom(ROOM)) == Ack()
        for client in clients:
            await client.negotiate()
        await eventually(lambda: all(c.received_video > 5 for c in clients[:2]), "media flows")
        named = (ParticipantId("alice"), ParticipantId("bob"))
        assert await worker.request(StartRecording(ROOM, "rec1", named, "case1")) == Ack()
        refused = await worker.request(StartRecording(ROOM, "rec2", named, "case1"))
        assert isinstance(refused, ErrorReply) and refused.code == "recording_active"
        await eventually(lambda: all(storage.staging_path(k).exists() or
                                     storage.partial_path(k).exists() for k in _keys(named)),
                         "both named participants' files open")
        assert await worker.request(PauseRecording(ROOM, "rec1")) == Ack()
        assert await worker.request(ResumeRecording(ROOM, "rec1")) == Ack()
        assert await worker.request(StopRecording(ROOM, "rec1")) == Ack()
        await eventually(lambda: sum(isinstance(e, ParticipantFinished) for e in events) == 2,
                         "both writers finish")
        stats = await worker.request(GetStats())
        assert isinstance(stats, WorkerStats)
        assert stats.decoded_frames == 0 and stats.encoded_frames == 0
    finally:
        for client in clients:
            await client.close()
        await worker.close()
        assert recorder.close(10)
    segments = [e for e in events if isinstance(e, SegmentClosed)]
    assert {s.key.participant_id for s in segments} == {"alice", "bob"}
    assert not (tmp_path / "case1" / "rec1" / "carol").exists(), "carol was never named"
    for segment in segments:
        decoded = decode_all(str(storage.local_path("case1", "rec1", segment.key.relpath)))
        assert decoded["video"] > 0 and decoded["audio"] > 0
        assert segment.codecs["video"]["width"] == 640


def _keys(named: tuple[ParticipantId, ...]) -> list[SegmentKey]:
    return [SegmentKey("case1", "rec1", p, 1) for p in named]
