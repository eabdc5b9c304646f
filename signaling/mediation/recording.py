"""Recording a remote mediation session as evidence: the consent ledger, one recording per
session (room), its participants following admissions and removals, caucus segments, pauses and
the end of the session. The consultation counterpart is ``signaling.recording.flow``; both use
the same policy table, notice and ``RecordingService`` (docs/recording.md, "A recording's life").

Rules (docs/mediation.md, "Recording"):
- Consent: each invitee decides in the lobby (``lobby-consent-recording``); the decision goes
  into the consent ledger with the exact notice text and version. The mediator consents by
  opening the session (``mediation:enter``): a ledger row with role ``mediator``, once per room.
- Mediation's policy is ``required``: an invitee who refuses is not let into the lobby, so the
  mediator can never admit them; the refusal is in the ledger and the case timeline.
- The recording begins once the mediator and at least one other participant are admitted and
  every admitted participant's latest decision is a grant; each later admission adds that
  participant. Nobody without a grant is ever named in ``StartRecording``.
- A participant is started at most once per recording: a removed one (who cannot come back to
  the session) is stopped; one who hangs up or reloads (``left``/``joined`` notes) keeps their
  writer open, since restarting a participant's writer would begin again at ``0001.webm``.
- Caucus: every participant's file holds only what they sent, and the worker forwards nothing
  across groups; the timeline marks each segment: ``caucus_started`` per group (``group`` is
  1-based, ``members`` lists who is in it), ``mediator_moved`` followed by ``caucus_started``
  for each group whose membership changed, ``caucus_ended``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recordings.models import RecordingStatus
from recordings.policy import CURRENT_NOTICE, Notice, RecordingPolicy, policy_for
from recordings.service import RecordingService
from rooms.caucus import CONTROL_ROLES, RoomEvent, RoomState, Transition
from rooms.messages import (
    MediaWorkerError,
    ParticipantId,
    PauseRecording,
    ResumeRecording,
    RoomId,
    StartRecording,
    StopRecording,
)
from rooms.worker import MediaWorker, call
from server.errors import ParleyError
from server.mediation.models import MediationCase, MediationParticipant
from server.mediation.repository import MediationRepository
from server.members import MemberRole
from signaling.consultations.service import Notifier
from signaling.mediation.views import participant_target

log = logging.getLogger(__name__)

SERVICE_TYPE = "mediation"


@dataclass
class _Live:
    """The recording running in a room, as the worker was last told."""

    recording_id: str
    active: tuple[str, ...]                       # named in the last StartRecording
    stopped: set[str] = field(default_factory=set)  # never started again in this recording
    away: set[str] = field(default_factory=set)     # left (hung up), writer still open
    paused: bool = False


class MediationRecording:
    """Driven by ``MediationRoomService``: ``consent`` in the lobby and at the mediator's entry,
    ``after`` every committed room transition, ``left``/``returned`` for hang-ups."""

    def __init__(self, *, service: RecordingService, media: MediaWorker, notifier: Notifier,
                 mediation_repo: MediationRepository, clock: Callable[[], datetime],
                 policy: RecordingPolicy | None = None) -> None:
        self._service = service
        self._repo = service.repo
        self._media = media
        self._notifier = notifier
        self._mediation = mediation_repo
        self._clock = clock
        self.policy = policy or policy_for(SERVICE_TYPE)
        self._live: dict[str, _Live] = {}   # by room id
        self._failed: set[str] = set()      # rooms whose worker refused to record
        # The caucus groups each recording last noted (to see which groups a move changed).
        self._groups: dict[str, list[list[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # --- consent -------------------------------------------------------------------------

    async def consent(self, case: MediationCase, mine: MediationParticipant,
                      granted: bool | None, notice: Notice = CURRENT_NOTICE) -> None:
        """Write a decision to the ledger as the member arrives (before they join the room).
        ``granted`` is the invitee's lobby answer; None for the case's mediator entering, who
        consents by opening the session. A refusal raises ``recording_consent_required`` where
        the policy requires recording (the caller then does not let the member in)."""
        if not self.policy.record or case.room_id is None:
            return
        room_id = case.room_id
        async with self._lock(room_id):
            if granted is None:
                if MemberRole(mine.role) not in CONTROL_ROLES or await self._has_row(case, mine.id):
                    return
                granted = True
            await self._service.record_consent(
                case_id=case.id, room_id=room_id, participant_id=mine.id, role=mine.role,
                decision="granted" if granted else "refused", text_shown=notice.text(),
                text_version=notice.version, now=self._clock())
            if not granted:
                await self._withdrawn(case, mine.id)
        if not granted and self.policy.required:
            raise ParleyError(
                "recording_consent_required",
                "本次调解须全程录音录像，不同意录制则无法进入 / this mediation is recorded: without "
                "consent to recording you cannot join it", 409, "consent_recording")

    async def _has_row(self, case: MediationCase, participant_id: str) -> bool:
        return any(c.participant_id == participant_id and c.room_id == case.room_id
                   for c in await self._repo.consents(case.id))

    async def decisions(self, case: MediationCase) -> dict[str, str]:
        """Each participant's latest decision for the case (what ``service.begin`` checks)."""
        latest: dict[str, str] = {}
        for consent in await self._repo.consents(case.id):
            latest[consent.participant_id] = consent.decision
        return latest

    async def _withdrawn(self, case: MediationCase, participant_id: str) -> None:
        """A member already recorded refused now: stop recording them at once."""
        live = self._live.get(str(case.room_id))
        if live is None or participant_id not in live.active:
            return
        await self._service.note(live.recording_id, "left",
                                 {"participant_id": participant_id,
                                  "reason": "consent_withdrawn"}, self._clock())
        live.stopped.add(participant_id)
        await self._start(case, live, tuple(p for p in live.active if p != participant_id))

    # --- room transitions ----------------------------------------------------------------

    async def after(self, case: MediationCase, transition: Transition) -> None:
        """Follow one committed transition: notes for its events, then who is recorded."""
        if not self.policy.record or case.room_id is None:
            return
        async with self._lock(case.room_id):
            live = self._live.get(case.room_id)
            state = transition.state
            for event in transition.events:
                if live is not None:
                    await self._on_event(case, live, event)
            if live is not None and state.groups is not None and not state.ended:
                await self._regroup(live, state)
            if state.ended:
                if live is not None:
                    await self._stop(case, live)
                return
            await self._sync(case, state)

    async def _on_event(self, case: MediationCase, live: _Live, event: RoomEvent) -> None:
        rid, now, data = live.recording_id, self._clock(), event.data
        if event.kind == "caucus_started":
            for number, members in enumerate(data.get("groups", ()), start=1):
                await self._service.note(rid, "caucus_started",
                                         {"group": number, "members": list(members)}, now)
        elif event.kind == "mediator_moved":
            groups = [list(g) for g in data.get("groups", ())]
            member = str(data.get("member"))
            to = next((i for i, g in enumerate(groups, start=1) if member in g), None)
            await self._service.note(rid, "mediator_moved",
                                     {"participant_id": member, "to_group": to,
                                      "groups": groups}, now)
            before = self._groups.get(rid, [])
            for number, members in enumerate(groups, start=1):
                if number > len(before) or set(before[number - 1]) != set(members):
                    await self._service.note(rid, "caucus_started",
                                             {"group": number, "members": members,
                                              "reason": "mediator_moved"}, now)
        elif event.kind == "caucus_ended":
            await self._service.note(rid, "caucus_ended", {}, now)
        elif event.kind == "recording_paused":
            await self._pause(case, live, True)
        elif event.kind == "recording_resumed":
            await self._pause(case, live, False)
        elif event.kind == "removed":
            member = str(data.get("member"))
            if member in live.active:
                await self._service.note(rid, "left", {"participant_id": member,
                                                       "reason": "removed"}, now)
                live.stopped.add(member)  # _sync sends StartRecording without them
        if "groups" in data:
            self._groups[rid] = [list(g) for g in data["groups"]]
        elif event.kind in ("caucus_ended", "session_ended"):
            self._groups.pop(rid, None)

    async def _regroup(self, live: _Live, state: RoomState) -> None:
        """Groups that changed without a split or a move (someone admitted into a caucus, or
        removed from one) get a ``caucus_started`` too: the recording's history must say who
        was with whom at every moment, since playback and exports follow it
        (``recordings.privacy``)."""
        rid = live.recording_id
        before = self._groups.get(rid, [])
        current = [list(g) for g in state.groups or ()]
        if [set(g) for g in before] == [set(g) for g in current]:
            return
        for number, members in enumerate(current, start=1):
            if number > len(before) or set(before[number - 1]) != set(members):
                await self._service.note(rid, "caucus_started",
                                         {"group": number, "members": members,
                                          "reason": "membership"}, self._clock())
        self._groups[rid] = current

    async def _sync(self, case: MediationCase, state: RoomState) -> None:
        """Begin the recording, or bring its participants in line with the room."""
        room_id = str(case.room_id)
        if room_id in self._failed:
            return
        admitted = [m.id for m in state.admitted]
        latest = await self.decisions(case)
        consenting = [p for p in admitted if latest.get(p) == "granted"]
        live = self._live.get(room_id)
        if live is None:
            mediator_in = any(m.role in CONTROL_ROLES for m in state.admitted)
            if not mediator_in or len(admitted) < 2 or consenting != admitted:
                return
            await self._begin(case, state, admitted)
            return
        wanted = tuple(p for p in consenting if p not in live.stopped)
        if wanted == live.active:
            return
        new = [p for p in wanted if p not in live.active]
        if new:
            await self._service.add_participants(live.recording_id, new, self._clock())
        live.stopped.update(p for p in live.active if p not in wanted)
        await self._start(case, live, wanted)

    async def _begin(self, case: MediationCase, state: RoomState, pids: Sequence[str]) -> None:
        room_id = str(case.room_id)
        recording = await self._service.begin(case.id, room_id, pids, self._clock())
        live = _Live(recording.id, ())
        self._live[room_id] = live
        if not await self._start(case, live, tuple(pids)):
            return
        if state.in_caucus:  # began during a caucus: mark the segments already running
            for number, members in enumerate(state.groups or (), start=1):
                await self._service.note(recording.id, "caucus_started",
                                         {"group": number, "members": list(members)},
                                         self._clock())
            self._groups[recording.id] = [list(g) for g in state.groups or ()]
        if state.recording_paused:
            await self._pause(case, live, True)
        else:
            await self._announce(case, "recording")

    async def _start(self, case: MediationCase, live: _Live, pids: tuple[str, ...]) -> bool:
        """Tell the worker the full list; False (and the recording given up) if it refuses."""
        try:
            await call(self._media, StartRecording(
                room_id=RoomId(str(case.room_id)), recording_id=live.recording_id,
                participant_ids=tuple(ParticipantId(p) for p in pids), case_id=case.id))
        except MediaWorkerError as exc:
            log.error("recording %s could not start: %s", live.recording_id, exc.message)
            await self._service.note(live.recording_id, "start_failed", {"code": exc.code},
                                     self._clock())
            if not live.active:  # nothing was ever written: close the row, stop trying
                await self._repo.set_status(live.recording_id, RecordingStatus.INTERRUPTED,
                                            ended_at=self._clock())
                self._live.pop(str(case.room_id), None)
                self._failed.add(str(case.room_id))
                await self._announce(case, "unavailable")
            return False
        live.active = pids
        return True

    async def _pause(self, case: MediationCase, live: _Live, paused: bool) -> None:
        if live.paused == paused:
            return
        room_id = RoomId(str(case.room_id))
        message = (PauseRecording(room_id, live.recording_id) if paused
                   else ResumeRecording(room_id, live.recording_id))
        await self._media.request(message)
        live.paused = paused
        await self._service.note(live.recording_id, "paused" if paused else "resumed", {},
                                 self._clock())
        await self._announce(case, "paused" if paused else "recording")

    async def _stop(self, case: MediationCase, live: _Live) -> None:
        """The session ended: close the files, then the manifest (``complete``)."""
        self._live.pop(str(case.room_id), None)
        self._groups.pop(live.recording_id, None)
        await self._media.request(StopRecording(room_id=RoomId(str(case.room_id)),
                                                recording_id=live.recording_id))
        try:
            await self._service.end(live.recording_id, self._clock())
        except TimeoutError:
            log.error("recording %s: writers did not finish in time", live.recording_id)
        await self._announce(case, "stopped")

    # --- hang-ups ------------------------------------------------------------------------

    async def left(self, case: MediationCase, participant_id: str) -> None:
        """A participant hung up or is reloading; they may come back to the same session."""
        await self._away(case, participant_id, away=True)

    async def returned(self, case: MediationCase, participant_id: str) -> None:
        """A participant who had left negotiated media again."""
        await self._away(case, participant_id, away=False)

    async def _away(self, case: MediationCase, participant_id: str, away: bool) -> None:
        if case.room_id is None:
            return
        async with self._lock(case.room_id):
            live = self._live.get(case.room_id)
            if live is None or participant_id not in live.active:
                return
            if away == (participant_id in live.away):
                return
            if away:
                live.away.add(participant_id)
            else:
                live.away.discard(participant_id)
            await self._service.note(live.recording_id, "left" if away else "joined",
                                     {"participant_id": participant_id}, self._clock())

    # --- plumbing ------------------------------------------------------------------------

    def recording_id(self, room_id: str) -> str | None:
        live = self._live.get(room_id)
        return live.recording_id if live is not None else None

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    async def _announce(self, case: MediationCase, state: str) -> None:
        payload: dict[str, Any] = {"case_id": case.id, "room_id": case.room_id, "state": state}
        for p in await self._mediation.participants(case.id):
            if p.revoked_at is None:
                await self._notifier.emit("recording:state", payload, participant_target(p))
