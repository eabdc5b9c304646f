"""One participant's recording: fed through a bounded queue, writing WebM segments off the loop.

The event loop only enqueues (``offer``); the writer's lane (``recordings.lanes``: a thread
shared with other participants' writers) stamps packets on the recording's
timeline, opens, writes, rotates and closes segment files, hashes each closed segment at once
and reports it through ``on_event``. When the queue is full a packet is dropped and counted,
never waited for; a dropped video frame makes the writer wait for the next keyframe, since the
frames after it would not decode.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av

from recordings.lanes import WriterLane
from recordings.storage import RecordingStorage, SegmentKey, sha256_file
from recordings.timeline import TrackClock
from recordings.webm import DEFAULT_SIZE, SegmentFile, vp8_size

logger = logging.getLogger(__name__)

ROTATE_S = 600.0      # segment length
QUEUE_PACKETS = 512   # about 6 s of one participant's audio and video
HEADER_WAIT_S = 1.0   # hold audio this long for the first keyframe, which gives the video size
KEYFRAME_GRACE_S = 5.0  # rotate without a keyframe when none comes this long after it is due


@dataclass(frozen=True)
class SegmentClosed:
    """A closed, hashed and committed segment."""

    key: SegmentKey
    size: int
    sha256: str
    start_ms: int
    end_ms: int
    codecs: dict[str, Any]
    dropped: dict[str, int]
    reason: str  # rotation | resize | stop


@dataclass(frozen=True)
class ParticipantFinished:
    """The participant's writer has closed its last segment; ``errors`` counts packets the
    muxer refused (logged)."""

    case_id: str
    recording_id: str
    participant_id: str
    segments: int
    dropped: dict[str, int]
    skipped_until_keyframe: int
    errors: int


WriterEvent = SegmentClosed | ParticipantFinished
OnEvent = Callable[[WriterEvent], None]


@dataclass(frozen=True)
class WriterConfig:
    rotate_s: float = ROTATE_S
    queue_packets: int = QUEUE_PACKETS
    header_wait_s: float = HEADER_WAIT_S
    keyframe_grace_s: float = KEYFRAME_GRACE_S
    lanes: int = 2  # writer threads a Recorder shares among all participants


@dataclass
class _Held:
    kind: str
    data: bytes
    ms: int
    keyframe: bool


@dataclass
class _State:
    """Owned by the writer thread."""

    segment: SegmentFile | None = None
    staged_size: int | None = None  # while the segment is staged: its size after 1st write
    index: int = 0
    size: tuple[int, int] = DEFAULT_SIZE
    awaiting_key: bool = True
    held: list[_Held] = field(default_factory=list)
    seen_video_drops: int = 0
    skipped: int = 0
    errors: int = 0


class ParticipantWriter:
    """Writes one participant of one recording; ``offer``/``pause``/``resume``/``stop`` are
    called on the event loop and never block."""

    def __init__(self, storage: RecordingStorage, case_id: str, recording_id: str,
                 participant_id: str, origin: float, on_event: OnEvent,
                 config: WriterConfig = WriterConfig(), lane: WriterLane | None = None) -> None:
        self._storage = storage
        self._key = SegmentKey(case_id, recording_id, participant_id, 0)
        self._on_event = on_event
        self._config = config
        self._clocks = {kind: TrackClock(origin) for kind in ("audio", "video")}
        self._own_lane = lane is None  # a writer on its own ends its lane when it finishes
        self._lane = lane or WriterLane(f"recording-{participant_id}")
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._queued = 0  # packets in the queue, for the bound
        self.dropped = {"audio": 0, "video": 0}
        #: Read by the event loop: ask the publisher for a keyframe.
        self.wants_keyframe = True
        self._stopping = False
        self._state = _State()

    # -- event-loop side ------------------------------------------------------------------

    def offer(self, kind: str, packet: av.Packet[Any], arrival: float) -> bool:
        """Queue a packet; False (and counted in ``dropped``) when the queue is full."""
        with self._lock:
            if self._stopping:
                return False
            if self._queued >= self._config.queue_packets:
                self.dropped[kind] = self.dropped.get(kind, 0) + 1
                return False
            self._queued += 1
            video_drops = self.dropped["video"]
        self._lane.put(self._handle, ("packet", kind, packet, arrival, video_drops))
        return True

    def pause(self) -> None:
        self._lane.put(self._handle, ("pause",))

    def resume(self) -> None:
        self.wants_keyframe = True
        self._lane.put(self._handle, ("resume",))

    def stop(self) -> None:
        """Close the last segment in the background; idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._lane.put(self._handle, ("stop",))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the last segment is closed (never on the event loop); True when done."""
        return self._done.wait(timeout)

    # -- writer thread ----------------------------------------------------------------------

    def _handle(self, item: tuple[Any, ...]) -> None:
        match item:
            case ("packet", kind, packet, arrival, video_drops):
                with self._lock:
                    self._queued -= 1
                try:
                    self._packet(kind, packet, arrival, video_drops)
                except Exception:
                    self._state.errors += 1
                    if self._state.errors == 1:
                        logger.exception("recording %s: a packet could not be written",
                                         self._key.recording_id)
            case ("pause",):
                for clock in self._clocks.values():
                    clock.reset()
                self._state.awaiting_key = True
            case ("resume",):
                pass
            case ("stop",):
                self._finish()
                self._done.set()
                if self._own_lane:
                    self._lane.close()

    def _packet(self, kind: str, packet: av.Packet[Any], arrival: float, video_drops: int) -> None:
        state = self._state
        data = bytes(packet)
        if not data:
            return
        ms = self._clocks[kind].stamp(packet.pts, packet.time_base, arrival)
        keyframe = kind == "audio" or bool(packet.is_keyframe)
        if kind == "video" and video_drops != state.seen_video_drops:
            state.seen_video_drops = video_drops
            state.awaiting_key = True
        size = vp8_size(data) if kind == "video" and keyframe else None
        if state.segment is not None:
            self._maybe_rotate(kind, keyframe, size, ms)
        if kind == "video" and state.awaiting_key and not keyframe:
            state.skipped += 1
            self.wants_keyframe = True
            return
        if state.segment is None:
            if size is None and kind == "video":
                size = state.size  # a keyframe too short to parse: keep the last size
            if size is None:
                state.held.append(_Held(kind, data, ms, keyframe))
                if ms - state.held[0].ms < self._config.header_wait_s * 1000:
                    return
            self._open(size or state.size)
        if kind == "video":
            state.awaiting_key = False
            self.wants_keyframe = False
        for held in self._release_held():
            self._write(held.kind, held.data, held.ms, held.keyframe)
        self._write(kind, data, ms, keyframe)

    def _maybe_rotate(self, kind: str, keyframe: bool, size: tuple[int, int] | None,
                      ms: int) -> None:
        segment = self._state.segment
        assert segment is not None
        first = segment.first_ms if segment.first_ms is not None else ms
        age = (ms - first) / 1000
        has_video = segment.tracks["video"].packets > 0
        if size is not None and size != segment.size:
            self._close("resize")  # a new size needs a new track header
        elif age >= self._config.rotate_s:
            if (kind == "video" and keyframe) or not has_video:
                self._close("rotation")
            elif age >= self._config.rotate_s + self._config.keyframe_grace_s:
                self._close("rotation")
                self._state.awaiting_key = True
            else:
                self.wants_keyframe = True  # rotate on the keyframe this brings

    def _open(self, size: tuple[int, int]) -> None:
        state = self._state
        state.index += 1
        state.size = size
        key = self._segment_key()
        state.segment = SegmentFile(self._storage.staging_path(key), size)
        state.staged_size = 0

    def _segment_key(self) -> SegmentKey:
        return SegmentKey(self._key.case_id, self._key.recording_id, self._key.participant_id,
                          self._state.index)

    def _release_held(self) -> list[_Held]:
        held, self._state.held = self._state.held, []
        return held

    def _write(self, kind: str, data: bytes, ms: int, keyframe: bool) -> None:
        state = self._state
        assert state.segment is not None
        state.segment.write(kind, data, ms, keyframe)
        if state.staged_size is not None:
            # Staged until the file grows past its first flushed size (the header): the
            # muxer writes whole clusters, so media is on disk and a crash leaves a file
            # that opens and plays.
            size = os.stat(state.segment.path).st_size
            if state.staged_size == 0:
                state.staged_size = size
            elif size > state.staged_size:
                self._unstage()

    def _unstage(self) -> None:
        state = self._state
        assert state.segment is not None
        self._storage.unstage(self._segment_key())
        state.segment.path = self._storage.partial_path(self._segment_key())
        state.staged_size = None

    def _close(self, reason: str) -> None:
        segment = self._state.segment
        if segment is None:
            return
        key = self._segment_key()
        if self._state.staged_size is not None:
            self._unstage()
        self._state.segment = None
        try:
            segment.close()
        except Exception:
            logger.exception("recording %s: closing segment %s failed", key.recording_id,
                             key.relpath)
        size, digest = sha256_file(segment.path)
        self._storage.commit(key)
        with self._lock:
            dropped = dict(self.dropped)
        self._emit(SegmentClosed(key, size, digest, segment.first_ms or 0,
                                 segment.last_ms or 0, segment.codecs(), dropped, reason))

    def _finish(self) -> None:
        state = self._state
        try:
            if state.held and state.segment is None:
                self._open(state.size)
                for held in self._release_held():
                    self._write(held.kind, held.data, held.ms, held.keyframe)
            self._close("stop")
        except Exception:
            state.errors += 1
            logger.exception("recording %s: finishing failed", self._key.recording_id)
        with self._lock:
            dropped = dict(self.dropped)
        self._emit(ParticipantFinished(self._key.case_id, self._key.recording_id,
                                       self._key.participant_id, state.index, dropped,
                                       state.skipped, state.errors))

    def _emit(self, event: WriterEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            logger.exception("recording event handler failed on %s", type(event).__name__)
