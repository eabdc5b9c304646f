"""The participant writer: real VP8 + Opus packets in, decodable hashed WebM segments out."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from recordings.storage import LocalRecordingStorage, SegmentKey, sha256_file
from recordings.writer import ParticipantFinished, ParticipantWriter, SegmentClosed, WriterConfig, WriterEvent
from tests.recordings.media import Timed, decode_all, first_video_is_keyframe

ORIGIN = 1000.0


def wait_for(condition: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def run(storage: LocalRecordingStorage, packets: list[Timed], config: WriterConfig,
        jitter: float = 0.0) -> list[WriterEvent]:
    events: list[WriterEvent] = []
    writer = ParticipantWriter(storage, "case1", "rec1", "alice", ORIGIN, events.append, config)
    for i, item in enumerate(packets):
        writer.offer(item.kind, item.packet, ORIGIN + 0.05 + item.at + jitter * (i % 3))
    writer.stop()
    assert writer.join(10)
    return events


def test_segments_rotate_on_keyframes_decode_and_are_hashed(
        storage: LocalRecordingStorage, packets: list[Timed]) -> None:
    events = run(storage, packets, WriterConfig(rotate_s=1.5), jitter=0.02)
    segments = [e for e in events if isinstance(e, SegmentClosed)]
    assert isinstance(events[-1], ParticipantFinished) and events[-1].segments == 2
    assert [s.reason for s in segments] == ["rotation", "stop"]
    assert segments[0].end_ms < segments[1].start_ms  # one timeline across segments
    for segment in segments:
        path = storage.local_path("case1", "rec1", segment.key.relpath)
        assert (segment.size, segment.sha256) == sha256_file(path)
        decoded = decode_all(str(path))
        assert decoded["video"] == segment.codecs["video"]["frames"] > 0
        assert decoded["audio"] > 0
        assert first_video_is_keyframe(str(path))
        assert segment.codecs["video"]["width"] == 160
    assert sum(s.codecs["video"]["frames"] for s in segments) == sum(
        1 for p in packets if p.kind == "video")
    # Audio and video are on one clock: the first packets are 50 ms after the origin.
    assert abs(segments[0].start_ms - 50) <= 10
    assert storage.partials() == []


class BlockingStorage(LocalRecordingStorage):
    """Holds the writer thread at its first file until released: a disk that hangs."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.release = threading.Event()
        self.entered = threading.Event()

    def partial_path(self, key: SegmentKey) -> Path:
        self.entered.set()
        assert self.release.wait(10)
        return super().partial_path(key)


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path: Path,
                                                          packets: list[Timed]) -> None:
    storage = BlockingStorage(tmp_path)
    events: list[WriterEvent] = []
    writer = ParticipantWriter(storage, "case1", "rec1", "bob", ORIGIN, events.append,
                               WriterConfig(queue_packets=20))
    first_key = next(i for i, p in enumerate(packets) if p.kind == "video")
    writer.offer("video", packets[first_key].packet, ORIGIN)
    wait_for(storage.entered.is_set, "the writer to reach the hung disk")
    started = time.monotonic()
    accepted = [writer.offer(p.kind, p.packet, ORIGIN + 0.05 + p.at) for p in packets]
    assert time.monotonic() - started < 0.5, "offer waited"
    assert accepted.count(True) == 20
    assert sum(writer.dropped.values()) == len(packets) - 20
    storage.release.set()
    writer.stop()
    assert writer.join(10)
    finished = events[-1]
    assert isinstance(finished, ParticipantFinished)
    assert finished.dropped == writer.dropped
    segment = next(e for e in events if isinstance(e, SegmentClosed))
    assert segment.dropped == writer.dropped
    decode_all(str(storage.local_path("case1", "rec1", segment.key.relpath)))


def test_pause_writes_nothing_and_video_resumes_on_a_keyframe(
        storage: LocalRecordingStorage, packets: list[Timed]) -> None:
    events: list[WriterEvent] = []
    writer = ParticipantWriter(storage, "case1", "rec1", "carol", ORIGIN, events.append)
    half = len(packets) // 3  # mid-GOP: the next keyframe comes 0.7 s after the resume
    for p in packets[:half]:
        writer.offer(p.kind, p.packet, ORIGIN + p.at)
    writer.pause()
    writer.resume()
    assert writer.wants_keyframe
    for p in packets[half:]:
        writer.offer(p.kind, p.packet, ORIGIN + 10 + p.at)
    writer.stop()
    assert writer.join(10)
    finished = events[-1]
    assert isinstance(finished, ParticipantFinished) and finished.skipped_until_keyframe > 0
    segment = next(e for e in events if isinstance(e, SegmentClosed))
    path = str(storage.local_path("case1", "rec1", segment.key.relpath))
    assert decode_all(path)["video"] == segment.codecs["video"]["frames"]
