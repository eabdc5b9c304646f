"""The process the kill test kills: it records two participants' real encoded media, paced in
real time, through the real service and recorder, until it is killed with SIGKILL.

    python -m tests.recordings.crash_child FOLDER

Prints one JSON line ({recording_id, origin}) once recording has started, then the media time
handed to the recorder ({"at": arrival seconds since the origin}) every ``PROGRESS_S``: on a
loaded machine this process falls behind, and the loss is measured against what it handed over.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from recordings.recorder import Recorder
from recordings.service import RecordingService
from recordings.storage import LocalRecordingStorage
from recordings.writer import WriterConfig
from rooms.media.sink import CaseId, RecordingId
from rooms.messages import ParticipantId, RoomId
from server.db import Database
from server.migrate import upgrade
from tests.recordings.conftest import CASE, add_case
from tests.recordings.media import media

ROOM = RoomId("room1")
PARTICIPANTS = (ParticipantId("alice"), ParticipantId("bob"))
ROTATE_S = 1.5
SECONDS = 30.0
PROGRESS_S = 0.1


async def main(folder: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{folder}/parley.db")
    await upgrade(db)
    await add_case(db)
    storage = LocalRecordingStorage(folder / "recordings")
    service = RecordingService(db, storage)
    await service.start()
    for pid in PARTICIPANTS:
        await service.record_consent(case_id=CASE, room_id=ROOM, participant_id=pid,
                                     role="citizen", decision="granted",
                                     text_shown="本次通话将被录音录像。", text_version="v1",
                                     now=service._wall())
    recording = await service.begin(CASE, ROOM, PARTICIPANTS)
    recorder = Recorder(storage, service.on_event, WriterConfig(rotate_s=ROTATE_S))
    origin = time.monotonic()
    for pid in PARTICIPANTS:
        recorder.start_participant(ROOM, RecordingId(recording.id), CaseId(CASE), pid, origin)
    print(json.dumps({"recording_id": recording.id, "origin": origin}), flush=True)
    # Keyframes when the writer asks, as the worker's PLI gets them from a browser: behind
    # time, the 2 s keyframe interval outlasts a segment's rotation and its grace.
    streams = [media(SECONDS, 320, 240, 300_000,
                     lambda pid=pid: recorder.wants_keyframe(ROOM, pid)) for pid in PARTICIPANTS]
    pending = [next(s) for s in streams]
    reported = 0.0
    while True:
        index = min(range(len(pending)), key=lambda i: pending[i].at)
        item = pending[index]
        # Pacing like a network, not synchronisation. Behind time (a busy machine) it still
        # yields once per packet, as a network's callbacks do: the recorder hands packets to
        # its writer thread from a loop timer (recordings/lanes.py), and a child that never
        # yielded while behind handed over nothing at all (no file in 120 s at load 19).
        await asyncio.sleep(max(0.0, origin + item.at - time.monotonic()))
        arrival = time.monotonic()
        recorder.packet(ROOM, PARTICIPANTS[index], item.kind, item.packet, arrival)
        if arrival - origin >= reported + PROGRESS_S:
            reported = arrival - origin
            print(json.dumps({"at": reported}), flush=True)
        pending[index] = next(streams[index])


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
