"""Recording a consultation: the notice, each side's consent, start, stop.

Nothing is recorded before every participant has granted consent; each decision goes into the
consent ledger with the exact text shown. A refusal ends recording for the session where the
policy allows it, otherwise the case goes back to the queue (``on_required_refusal``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from recordings.models import RecordingStatus
from recordings.policy import CURRENT_NOTICE, NOTICES, POLICIES, RecordingPolicy
from recordings.repository import RecordingRepository
from recordings.service import RecordingService
from rooms.messages import (
    MediaWorkerError,
    ParticipantId,
    RoomId,
    StartRecording,
    StopRecording,
)
from rooms.worker import MediaWorker, call
from server.errors import ParleyError, bad_request, invalid_state
from server.models import Case
from server.policy import Principal, Role
from signaling.views import case_target, user_target

log = logging.getLogger(__name__)

MEDIA_MODES = ("video", "audio")


def participants_of(case: Case) -> tuple[str, str]:
    """The recorded participants of a consultation: the citizen and the lawyer."""
    return (f"{Role.CITIZEN.value}-{case.id}", f"{Role.LAWYER.value}-{case.lawyer_id}")


class ConsultationRecording:
    def __init__(
        self,
        *,
        service: RecordingService,
        repo: RecordingRepository,
        media: MediaWorker,
        notifier: Any,
        clock: Callable[[], datetime],
        policies: dict[str, RecordingPolicy] = POLICIES,
    ) -> None:
        self._service = service
        self._repo = repo
        self._media = media
        self._notifier = notifier
        self._clock = clock
        self._policies = policies
        self.on_required_refusal: Callable[[Case], Awaitable[None]] | None = None
        self._finishing: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def _policy(self, case: Case) -> RecordingPolicy:
        policy = self._policies.get(case.service_type)
        if policy is None or case.mode not in MEDIA_MODES:
            return RecordingPolicy(record=False, required=False)
        return policy

    def new_room_view(self, case: Case) -> dict[str, Any]:
        """``view`` of a room that has just opened: no decision or recording exists yet."""
        policy = self._policy(case)
        base = {"required": policy.required, "notice": CURRENT_NOTICE.to_dict(), "decision": None}
        if not policy.record or case.room_id is None:
            return {**base, "state": "off", "reason": "policy"}
        return {**base, "state": "pending"}

    async def view(self, case: Case, me: Principal) -> dict[str, Any]:
        """The room's recording state as ``me`` sees it (RoomView.recording)."""
        policy = self._policy(case)
        base = {"required": policy.required, "notice": CURRENT_NOTICE.to_dict(), "decision": None}
        if not policy.record or case.room_id is None:
            return {**base, "state": "off", "reason": "policy"}
        decisions = await self._decisions(case)
        base["decision"] = decisions.get(me.participant_id)
        recording = await self._recording_of(case)
        if recording is not None:
            state = "recording" if recording.status == RecordingStatus.RECORDING else "stopped"
            return {**base, "state": state}
        if "refused" in decisions.values():
            return {**base, "state": "off", "reason": "refused"}
        return {**base, "state": "pending"}

    async def on_match(self, case: Case) -> None:
        """Ask both sides for consent as soon as the room opens."""
        policy = self._policy(case)
        if not policy.record or case.room_id is None:
            return
        notice = {"room_id": case.room_id, "required": policy.required,
                  "notice": CURRENT_NOTICE.to_dict()}
        for target in _targets(case):
            await self._notifier.emit("recording:notice", notice, target)

    async def consent(self, me: Principal, case: Case, decision: str, version: str
                      ) -> dict[str, Any]:
        policy = self._policy(case)
        if not policy.record or case.room_id is None:
            raise invalid_state("本次服务不录音录像 / this session is not recorded")
        notice = NOTICES.get(version)
        if notice is None:
            raise bad_request(f"未知的告知书版本 / unknown notice version {version!r}", "version")
        # Both sides may agree at the same moment: one decision at a time per room, so the
        # recording starts once.
        lock = self._locks.setdefault(case.room_id, asyncio.Lock())
        async with lock:
            if (await self._decisions(case)).get(me.participant_id) is not None:
                raise invalid_state("您已作出选择 / you have already decided")
            await self._service.record_consent(
                case_id=case.id, room_id=case.room_id, participant_id=me.participant_id,
                role=me.role.value, decision=decision, text_shown=notice.text(),
                text_version=notice.version, now=self._clock())
            decisions = await self._decisions(case)
            everyone_agreed = (len(decisions) == len(participants_of(case))
                               and all(d == "granted" for d in decisions.values()))
            if decision == "granted" and everyone_agreed and await self._recording_of(case) is None:
                await self._start(case)
        if decision == "refused":
            if policy.required and self.on_required_refusal is not None:
                await self.on_required_refusal(case)
            else:
                await self._announce(case, "off", reason="refused")
        return await self.view(case, me)

    async def reopened(self, case: Case) -> None:
        """The media worker lost the room (a restart) and has it again: the recording that was
        running is interrupted (recovery at start-up marked it so); if both sides had agreed,
        recording goes on in a new recording that names the one it continues."""
        policy = self._policy(case)
        if not policy.record or case.room_id is None:
            return
        lock = self._locks.setdefault(case.room_id, asyncio.Lock())
        async with lock:
            previous = await self._recording_of(case)
            if previous is None or previous.status == RecordingStatus.RECORDING:
                return  # never started (consent pending or refused), or already going on
            decisions = await self._decisions(case)
            if [decisions.get(p) for p in participants_of(case)] != ["granted", "granted"]:
                return
            recording_id = await self._start(case)
            await self._service.note(recording_id, "continues", {"recording_id": previous.id},
                                     self._clock())

    async def _start(self, case: Case) -> str:
        assert case.room_id is not None
        pids = participants_of(case)
        recording = await self._service.begin(case.id, case.room_id, pids, self._clock())
        try:
            await call(self._media, StartRecording(
                room_id=RoomId(case.room_id), recording_id=recording.id,
                participant_ids=tuple(ParticipantId(p) for p in pids), case_id=case.id))
        except MediaWorkerError as exc:
            log.error("recording %s could not start: %s", recording.id, exc.message)
            await self._service.note(recording.id, "start_failed", {"code": exc.code})
            raise ParleyError("recording_unavailable", "录制服务暂不可用 / recording is unavailable",
                              503) from None
        await self._announce(case, "recording")
        return recording.id

    async def stop(self, case: Case) -> None:
        """The session ended: close the files and the manifest of its recording, if any."""
        if case.room_id is not None:
            self._locks.pop(case.room_id, None)
        recording = await self._recording_of(case)
        if recording is None or recording.status != RecordingStatus.RECORDING:
            return
        assert case.room_id is not None
        await self._media.request(StopRecording(room_id=RoomId(case.room_id),
                                                recording_id=recording.id))
        # Closing the files and the manifest waits for the writers; the room need not.
        task = asyncio.create_task(self._finish(case, recording.id),
                                   name=f"finish {recording.id}")
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def _finish(self, case: Case, recording_id: str) -> None:
        try:
            await self._service.end(recording_id, self._clock())
        except TimeoutError:
            # The writers live in another process (split deployment): that process's service
            # stores the last segments; recovery marks the recording at its next start.
            log.error("recording %s: writers did not report their last segments in time",
                      recording_id)
            return
        await self._announce(case, "stopped")

    async def close(self) -> None:
        """Let recordings that are closing finish (shutdown)."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    async def note(self, case: Case, kind: str, data: dict[str, object]) -> bool:
        """A timeline entry on the room's recording, if it is being recorded (e.g. a phone
        caller hanging up mid-session: signaling/telephony/bridge.py)."""
        recording = await self._recording_of(case)
        if recording is None or recording.status != "recording":
            return False
        await self._service.note(recording.id, kind, data, self._clock())
        return True

    async def _recording_of(self, case: Case) -> Any:
        """The room's latest recording (a restart may have cut an earlier one)."""
        found = None
        for recording in await self._repo.for_case(case.id):  # oldest first
            if recording.room_id == case.room_id:
                found = recording
        return found

    async def _decisions(self, case: Case) -> dict[str, str]:
        """Each participant's latest decision in this room."""
        latest: dict[str, str] = {}
        for consent in await self._repo.consents(case.id):
            if consent.room_id == case.room_id:
                latest[consent.participant_id] = consent.decision
        return latest

    async def _announce(self, case: Case, state: str, reason: str | None = None) -> None:
        payload: dict[str, Any] = {"room_id": case.room_id, "state": state}
        if reason:
            payload["reason"] = reason
        for target in _targets(case):
            await self._notifier.emit("recording:state", payload, target)


def _targets(case: Case) -> tuple[str, str]:
    return case_target(case.id), user_target(str(case.lawyer_id))
