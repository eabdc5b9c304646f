"""The consultation service: a matched case's room, chat, negotiation, notes and rating.

Queueing and matching are the hotline's (signaling/hotline/service.py), which calls ``start`` and
``close_room`` here. Socket handlers call one method each; I/O goes through the repositories,
the media worker and a ``Notifier`` (the socket.io server in production).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from rooms.messages import (
    AddCandidate,
    Answer,
    CloseRoom,
    Leave,
    MediaWorkerError,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
)
from rooms.worker import MediaWorker, call
from server import catalogue
from server.cases.repository import CaseRepository, CaseStatus, case_resource
from server.errors import ParleyError, invalid_state, not_found
from server.models import Case, Room, User
from server.policy import Action, Principal, Role, require
from server.ratings.rules import Reason
from server.users import UserRepository
from signaling.bounded import BoundedCache
from signaling.consultations.supervisors import audio_slots
from signaling.recording.flow import ConsultationRecording
from signaling.views import (
    CALLBACK_EVENTS,
    callback_attempt_view,
    case_target,
    case_view,
    chat_view,
    room_view,
    user_target,
)

log = logging.getLogger(__name__)

MEMBERS_CACHED = 10_000
MEDIA_MODES = {catalogue.Mode.VIDEO.value: ("audio", "video"), catalogue.Mode.AUDIO.value: ("audio",)}


class Notifier(Protocol):
    """Pushes an event to every connection in a target (``case:ID``, ``user:ID``, ``agents``)."""

    async def emit(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> None:
        """``to``: one target, or several (each connection gets the event once)."""

    async def emit_here(self, event: str, data: dict[str, Any], to: str | Sequence[str]) -> bool:
        """Only to the connections this process holds (what every process computes alike, as
        the tick's queue positions); whether it holds any."""


class ConsultationService:
    def __init__(
        self,
        *,
        cases: CaseRepository,
        users: UserRepository,
        media: MediaWorker,
        notifier: Notifier,
        clock: Callable[[], datetime],
        recording: ConsultationRecording | None = None,
    ) -> None:
        self._cases = cases
        self._users = users
        self._media = media
        self._notifier = notifier
        self._clock = clock
        # Set by the composition root: records the rating with its reasons (server/ratings).
        self.on_rated: Callable[[str, str, int, list[Reason], str | None, bool],
                                Awaitable[object]] | None = None
        self._recording = recording
        # Set by the composition root: a case was just matched (a phone call is put through).
        self.on_started: Callable[[Case], Awaitable[None]] | None = None
        # ...and its room closed (ended or transferred): a phone call asks for the rating.
        self.on_closed: Callable[[Case], Awaitable[None]] | None = None
        # Rooms chatting in this process -> their members (signaling/bounded.py).
        self._members: BoundedCache[str, RoomMembers] = BoundedCache(MEMBERS_CACHED)

    # --- matching (called by the hotline) -----------------------------------------------

    async def start(self, case: Case, lawyer: User, again: bool = False) -> dict[str, Any]:
        """Open the media room of a case just assigned to ``lawyer`` and tell both sides
        (``again``: reconciliation finishing an assignment a crash cut short; the room may
        have been used already)."""
        assert case.room_id is not None
        self._members.put(case.room_id, RoomMembers.of(case))
        kinds = MEDIA_MODES.get(case.mode)
        if kinds:
            try:
                await call(self._media, OpenRoom(room_id=RoomId(case.room_id), kinds=kinds))
            except MediaWorkerError as exc:
                if exc.code != "media_unavailable":
                    raise
                # The case is assigned (the database decided): both sides are still told. The
                # room opens when a worker is back: the pages' negotiation retries (a 503) and
                # reopens it, and reconciliation reopens an unhosted room (UNHOSTED_ROOM).
                log.warning("case %s matched with no media worker reachable; room %s opens "
                            "when one is back", case.id, case.room_id)
        lawyer_me = Principal(Role.LAWYER, str(lawyer.id), lawyer.display_name)
        citizen = Principal(Role.CITIZEN, case.id, case.citizen_name, case.id)
        await self._notifier.emit(
            "case:matched",
            {"case": case_view(case, lawyer), "room": await self._room(case, lawyer, citizen,
                                                                        new=not again)},
            case_target(case.id),
        )
        mine = {"case": case_view(case, lawyer, for_lawyer=True),
                "room": await self._room(case, lawyer, lawyer_me, new=not again)}
        await self._notifier.emit("case:matched", mine, user_target(str(lawyer.id)))
        if self._recording is not None:
            await self._recording.on_match(case)
        if self.on_started is not None:
            await self.on_started(case)
        return mine

    async def _room(self, case: Case, lawyer: User, me: Principal, new: bool = False
                    ) -> dict[str, Any]:
        """RoomView for ``me``, with the recording state when recording is configured
        (``new``: the room has just opened, so nobody has decided yet)."""
        view = room_view(case, lawyer, me)
        # A supervisor who joined (live assist) is heard on further audio slots.
        view["audio_slots"] = 1 if new else audio_slots(
            (e.actor, e.kind) for e in await self._cases.events(case.id))
        if self._recording is not None:
            view["recording"] = (self._recording.new_room_view(case) if new
                                 else await self._recording.view(case, me))
        return view

    async def reopen(self, case: Case) -> None:
        """Host again the media room of a case in consultation (idempotent on a worker that
        has it) and go on recording it: its worker's process died, or the room was never
        opened (a crash between the assignment and the room), or the server restarted."""
        kinds = MEDIA_MODES.get(case.mode)
        if not case.room_id or not kinds:
            return
        await self._media_call(OpenRoom(room_id=RoomId(case.room_id), kinds=kinds))
        log.warning("room %s of case %s reopened on the media worker", case.room_id, case.id)
        if self._recording is not None:
            await self._recording.reopened(case)

    async def close_room(self, case: Case) -> None:
        if case.room_id:
            self._members.pop(case.room_id)
        if self._recording is not None:
            await self._recording.stop(case)
        if case.room_id and case.mode in MEDIA_MODES:
            await self._media.request(CloseRoom(room_id=RoomId(case.room_id)))
        if self.on_closed is not None:
            await self.on_closed(case)

    async def renegotiate(self, room_id: str) -> None:
        """The room moved to another media worker (its worker died): both sides offer again."""
        room = await self._cases.room(room_id)
        case = await self._cases.get(room.case_id) if room else None
        if case is None or room is None or room.closed_at is not None:
            return
        await self._notifier.emit("room:renegotiate", {"room_id": room_id},
                                  RoomMembers.of(case).targets())

    async def link_changed(self, room_id: str, participant_id: str, state: str) -> None:
        """A side's link changed (rooms.media.link): ``audio_only`` (video paused, audio goes
        on), ``trial`` (video is tried again) or ``video``. Both sides are told, and both
        browsers pause or resume sending video with it: on a 1:1 call a link too weak for
        video one way is usually weak both ways, and a paused camera frees it for audio."""
        room = await self._cases.room(room_id)
        case = await self._cases.get(room.case_id) if room else None
        if case is None or room is None or room.closed_at is not None:
            return
        await self._notifier.emit("call:link", {"room_id": room_id, "state": state,
                                                "participant_id": participant_id},
                                  RoomMembers.of(case).targets())

    # --- citizen -------------------------------------------------------------------------

    async def resume_citizen(self, me: Principal, queue: dict[str, Any] | None) -> dict[str, Any]:
        require(me, Action.RESUME_CASE)
        case = await self._case(me.case_id)
        lawyer = await self._users.get(case.lawyer_id) if case.lawyer_id else None
        reply: dict[str, Any] = {"case": case_view(case, lawyer), "queue": None, "room": None,
                                 "chat": []}
        if case.status == CaseStatus.WAITING:
            reply["queue"] = queue
        if case.room_id and lawyer is not None:
            reply["room"] = await self._room(case, lawyer, me)
            reply["chat"] = [chat_view(m) for m in await self._cases.chat_for_room(case.room_id)]
        return reply

    async def rate(self, me: Principal, score: int, comment: str | None,
                   reasons: Sequence[Reason] = (), complaint: bool = False) -> None:
        require(me, Action.RATE_CASE)
        case = await self._case(me.case_id)
        if case.status not in (CaseStatus.IN_CONSULTATION, CaseStatus.ENDED):
            raise invalid_state("咨询开始后才能评价 / rate once the consultation has started")
        if not await self._cases.rate(case.id, score, comment, self._clock()):
            raise ParleyError("already_rated", "已评价 / this case is already rated", 409)
        if self.on_rated is not None:
            # With its reasons, and a follow-up for a low rating (server/ratings).
            await self.on_rated(case.id, me.participant_id, score, list(reasons), comment, complaint)

    # --- lawyer --------------------------------------------------------------------------

    async def active_for(self, me: Principal) -> dict[str, Any]:
        """The lawyer's consultation in progress (after a reload), with its chat."""
        reply: dict[str, Any] = {"case": None, "room": None, "chat": []}
        case = await self._cases.active_for_lawyer(int(me.id))
        lawyer = await self._users.get(int(me.id))
        if case is not None and lawyer is not None and case.room_id:
            reply["case"] = case_view(case, lawyer, for_lawyer=True)
            if case.callback:
                reply["case"]["callback_attempts"] = [
                    callback_attempt_view(e) for e in await self._cases.events(case.id)
                    if e.kind in CALLBACK_EVENTS]
            reply["room"] = await self._room(case, lawyer, me)
            reply["chat"] = [chat_view(m) for m in await self._cases.chat_for_room(case.room_id)]
        return reply

    async def write_notes(self, me: Principal, case_id: str, notes: str) -> None:
        case = await self._case(case_id)
        require(me, Action.WRITE_NOTES, case_resource(case))
        await self._cases.set_notes(case_id, notes, me.participant_id, self._clock())

    # --- room ----------------------------------------------------------------------------

    async def chat(self, me: Principal, room_id: str, text: str) -> dict[str, Any]:
        require(me, Action.ROOM_CHAT)
        members = self._members.get(room_id)
        if members is None:
            _, case = await self._member_room(me, Action.ROOM_CHAT, room_id)
            # Who belongs to a room never changes (a transfer opens a new room); only its
            # closing does, and storing the message checks that (server/cases.add_chat).
            members = RoomMembers.of(case)
            self._members.put(room_id, members)
        if not members.admits(me):
            raise ParleyError("not_in_room", "您不在该房间 / you are not in this room", 403)
        message = await self._cases.add_chat(
            room_id=room_id, case_id=members.case_id, sender_role=me.role.value,
            sender_id=me.participant_id, sender_name=me.name, text=text, now=self._clock(),
        )
        if message is None:
            self._members.pop(room_id)
            raise _room_closed()
        view = chat_view(message)
        await self._notifier.emit("chat:message", view, members.targets())
        return view

    async def negotiate(self, me: Principal, room_id: str, sdp: str) -> str:
        room, case = await self._member_room(me, Action.ROOM_NEGOTIATE, room_id)
        if case.mode not in MEDIA_MODES:
            raise _no_media()
        offer = Negotiate(room_id=RoomId(room.id), participant_id=ParticipantId(me.participant_id),
                          sdp=sdp)
        try:
            reply = await self._media_call(offer)
        except ParleyError as exc:
            if exc.code != "not_found":
                raise
            # The database says the room is open but the worker does not hold it: the server
            # restarted (or its worker's state was lost). Open it again and go on recording.
            await self.reopen(case)
            reply = await self._media_call(offer)
        assert isinstance(reply, Answer)
        await self._notify_peer(case, me, "joined")
        return reply.sdp

    async def add_candidate(
        self, me: Principal, room_id: str, candidate: str, sdp_mid: str | None, index: int | None
    ) -> None:
        room, case = await self._member_room(me, Action.ROOM_NEGOTIATE, room_id)
        if case.mode not in MEDIA_MODES:
            raise _no_media()
        await self._media_call(
            AddCandidate(
                room_id=RoomId(room.id), participant_id=ParticipantId(me.participant_id),
                candidate=candidate, sdp_mid=sdp_mid, sdp_mline_index=index,
            )
        )

    async def consent_to_recording(self, me: Principal, room_id: str, decision: str,
                                   version: str) -> dict[str, Any]:
        _, case = await self._member_room(me, Action.RECORDING_CONSENT, room_id)
        if self._recording is None:
            raise invalid_state("本次服务不录音录像 / this session is not recorded")
        return {"recording": await self._recording.consent(me, case, decision, version)}

    async def answer(self, me: Principal, room_id: str) -> None:
        """Browsers answer only server offers, which this version never makes."""
        await self._member_room(me, Action.ROOM_NEGOTIATE, room_id)
        raise ParleyError("no_pending_offer", "没有待应答的 offer / no offer is waiting for an answer", 409)

    async def hangup(self, me: Principal, room_id: str) -> None:
        room, case = await self._member_room(me, Action.ROOM_HANGUP, room_id, allow_closed=True)
        if case.mode in MEDIA_MODES and room.closed_at is None:
            await self._media.request(
                Leave(room_id=RoomId(room.id), participant_id=ParticipantId(me.participant_id))
            )
        await self._notify_peer(case, me, "left")

    # --- helpers -------------------------------------------------------------------------

    async def _case(self, case_id: str | None) -> Case:
        case = await self._cases.get(case_id) if case_id else None
        if case is None:
            raise not_found("案件不存在 / no such case")
        return case

    async def _member_room(
        self, me: Principal, action: Action, room_id: str, allow_closed: bool = False
    ) -> tuple[Room, Case]:
        require(me, action)
        room = await self._cases.room(room_id)
        case = await self._cases.get(room.case_id) if room else None
        if room is None or case is None:
            raise ParleyError("not_in_room", "您不在该房间 / you are not in this room", 403)
        if not RoomMembers.of(case).admits(me):
            raise ParleyError("not_in_room", "您不在该房间 / you are not in this room", 403)
        if room.closed_at is not None and not allow_closed:
            raise _room_closed()
        return room, case

    async def _media_call(self, message: Negotiate | AddCandidate | OpenRoom) -> object:
        try:
            return await call(self._media, message)
        except MediaWorkerError as exc:
            status = 503 if exc.code == "media_unavailable" else 400
            raise ParleyError(exc.code, exc.message, status) from None

    async def _notify_peer(self, case: Case, me: Principal, event: str) -> None:
        payload = {"room_id": case.room_id, "event": event,
                   "peer": {"role": me.role.value, "name": me.name}}
        other = user_target(str(case.lawyer_id)) if me.role is Role.CITIZEN else case_target(case.id)
        await self._notifier.emit("room:peer", payload, other)


class RoomMembers:
    """A consultation room's members, as the chat's membership check needs them."""

    __slots__ = ("case_id", "lawyer_id")

    def __init__(self, case_id: str, lawyer_id: int | None) -> None:
        self.case_id = case_id
        self.lawyer_id = lawyer_id

    @classmethod
    def of(cls, case: Case) -> RoomMembers:
        return cls(case.id, case.lawyer_id)

    def admits(self, me: Principal) -> bool:
        if me.role is Role.CITIZEN:
            return me.case_id == self.case_id
        return me.role is Role.LAWYER and str(self.lawyer_id) == me.id

    def targets(self) -> tuple[str, str]:
        return case_target(self.case_id), user_target(str(self.lawyer_id))


def _room_closed() -> ParleyError:
    return ParleyError("room_closed", "咨询已结束 / this consultation has ended", 409)


def _no_media() -> ParleyError:
    return ParleyError("media_unavailable", "文字咨询没有音视频 / a text consultation has no media", 409)
