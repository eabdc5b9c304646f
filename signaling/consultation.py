"""The consultation service: queue, match, room, chat, end and rating.

Socket handlers call one method here each; this class does the I/O through the repositories,
the queue store, the media worker and a ``Notifier`` (the socket.io server in production).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from server.cases import CaseRepository, CaseStatus, case_resource
from server.errors import ParleyError, bad_request, invalid_state, not_found
from server.models import Case, Room
from server.policy import Action, Principal, Role, require
from server.schemas import IntakeBody
from server.users import UserRepository
from signaling.eta import estimate_wait_s
from signaling.presence import Availability, PresenceRegistry
from signaling.queue import QueueEntry, QueueStore
from signaling.views import (
    AGENTS_TARGET,
    case_target,
    case_view,
    chat_view,
    room_view,
    user_target,
)

log = logging.getLogger(__name__)

MEDIA_MODES = {catalogue.Mode.VIDEO.value: ("audio", "video"), catalogue.Mode.AUDIO.value: ("audio",)}


class Notifier(Protocol):
    """Pushes an event to every connection in a target (``case:ID``, ``user:ID``, ``agents``)."""

    async def emit(self, event: str, data: dict[str, Any], to: str) -> None: ...


def entry_for(case: Case) -> QueueEntry:
    return QueueEntry(
        case_id=case.id,
        enqueued_at=case.queued_at.timestamp(),
        service_type=case.service_type,
        category=case.category,
        mode=case.mode,
        region=case.region,
    )


class ConsultationService:
    def __init__(
        self,
        *,
        cases: CaseRepository,
        users: UserRepository,
        queue: QueueStore,
        presence: PresenceRegistry,
        media: MediaWorker,
        notifier: Notifier,
        clock: Callable[[], datetime],
        default_handle_s: float,
    ) -> None:
        self._cases = cases
        self._users = users
        self._queue = queue
        self._presence = presence
        self._media = media
        self._notifier = notifier
        self._clock = clock
        self._default_handle_s = default_handle_s
        self._pushed: dict[str, tuple[int, int | None]] = {}

    # --- queue ---------------------------------------------------------------------------

    async def restore_queue(self) -> int:
        """Rebuild the live queue from the database's waiting cases, in their order."""
        waiting = await self._cases.waiting_in_order()
        await self._queue.rebuild([entry_for(c) for c in waiting])
        return len(waiting)

    async def intake(self, body: IntakeBody) -> Case:
        case = await self._cases.create(body, self._clock())
        await self._queue.add(entry_for(case))
        await self.push_queue()
        return case

    async def queue_view(self, case_id: str) -> dict[str, Any] | None:
        entries = await self._queue.entries()
        for index, entry in enumerate(entries):
            if entry.case_id == case_id:
                return await self._queue_view(index + 1, len(entries))
        return None

    async def _queue_view(self, position: int, waiting: int) -> dict[str, Any]:
        on_duty, free = self._presence.counts()
        mean = await self._cases.mean_handle_time() or self._default_handle_s
        eta = estimate_wait_s(position, on_duty, free, mean)
        return {"position": position, "eta_seconds": eta, "waiting": waiting}

    async def push_queue(self) -> None:
        """Tell each waiting citizen their position and estimate when it changed."""
        entries = await self._queue.entries()
        current = {e.case_id for e in entries}
        for case_id in list(self._pushed):
            if case_id not in current:
                del self._pushed[case_id]
        for index, entry in enumerate(entries):
            view = await self._queue_view(index + 1, len(entries))
            key = (view["position"], view["eta_seconds"])
            if self._pushed.get(entry.case_id) != key:
                self._pushed[entry.case_id] = key
                await self._notifier.emit("queue:update", view, case_target(entry.case_id))
        await self._notifier.emit("queue:size", {"waiting": len(entries)}, AGENTS_TARGET)

    async def leave_queue(self, me: Principal) -> None:
        require(me, Action.LEAVE_QUEUE)
        assert me.case_id is not None
        if not await self._cases.abandon(me.case_id, self._clock()):
            raise invalid_state("案件不在排队中 / the case is not waiting")
        await self._queue.remove(me.case_id)
        await self.push_queue()

    async def live_figures(self) -> dict[str, int]:
        """This process's live queue and presence figures (for /metrics)."""
        on_duty, free = self._presence.counts()
        return {"waiting": len(await self._queue.entries()), "agents_on_duty": on_duty,
                "agents_free": free}

    # --- citizen -------------------------------------------------------------------------

    async def resume_citizen(self, me: Principal) -> dict[str, Any]:
        require(me, Action.RESUME_CASE)
        case = await self._case(me.case_id)
        lawyer = await self._users.get(case.lawyer_id) if case.lawyer_id else None
        reply: dict[str, Any] = {"case": case_view(case, lawyer), "queue": None, "room": None,
                                 "chat": []}
        if case.status == CaseStatus.WAITING:
            reply["queue"] = await self.queue_view(case.id)
        if case.room_id and lawyer is not None:
            reply["room"] = room_view(case, lawyer, me)
            reply["chat"] = [chat_view(m) for m in await self._cases.chat_for_room(case.room_id)]
        return reply

    async def rate(self, me: Principal, score: int, comment: str | None) -> None:
        require(me, Action.RATE_CASE)
        case = await self._case(me.case_id)
        if case.status not in (CaseStatus.IN_CONSULTATION, CaseStatus.ENDED):
            raise invalid_state("咨询结束后才能评价 / rate after the consultation")
        if not await self._cases.rate(case.id, score, comment, self._clock()):
            raise ParleyError("already_rated", "已评价 / this case is already rated", 409)

    # --- lawyer --------------------------------------------------------------------------

    async def agent_connected(self, me: Principal, sid: str) -> None:
        agent = self._presence.connect(me.id, sid)
        agent.busy = await self._cases.active_for_lawyer(int(me.id)) is not None
        await self.push_queue()

    async def agent_disconnected(self, sid: str) -> None:
        if self._presence.disconnect(sid) is not None:
            await self.push_queue()

    async def resume_agent(self, me: Principal) -> dict[str, Any]:
        require(me, Action.AGENT_RESUME)
        agent = self._presence.get(me.id)
        reply: dict[str, Any] = {"status": agent.status, "waiting": len(await self._queue.entries()),
                                 "case": None, "room": None, "chat": []}
        case = await self._cases.active_for_lawyer(int(me.id))
        lawyer = await self._users.get(int(me.id))
        if case is not None and lawyer is not None and case.room_id:
            reply["case"] = case_view(case, lawyer)
            reply["room"] = room_view(case, lawyer, me)
            reply["chat"] = [chat_view(m) for m in await self._cases.chat_for_room(case.room_id)]
        return reply

    async def set_availability(self, me: Principal, status: Availability) -> str:
        require(me, Action.SET_AVAILABILITY)
        agent = self._presence.get(me.id)
        agent.availability = status
        await self.push_queue()
        return agent.status

    async def take_next(self, me: Principal) -> dict[str, Any]:
        require(me, Action.TAKE_NEXT)
        agent = self._presence.get(me.id)
        if agent.busy or await self._cases.active_for_lawyer(int(me.id)) is not None:
            raise ParleyError("agent_busy", "请先结束当前咨询 / finish the current consultation", 409)
        if agent.availability is not Availability.AVAILABLE:
            raise ParleyError("agent_away", "请先设为可接待 / set yourself available first", 409)
        lawyer = await self._users.get(int(me.id))
        if lawyer is None:
            raise not_found("lawyer account not found")
        while True:
            entry = await self._queue.claim_next()
            if entry is None:
                raise ParleyError("queue_empty", "暂无排队的群众 / nobody is waiting", 409)
            # The database decides: a case abandoned meanwhile is skipped, never matched twice.
            case = await self._cases.assign(entry.case_id, lawyer.id, self._clock())
            if case is not None:
                break
        agent.busy = True
        assert case.room_id is not None
        kinds = MEDIA_MODES.get(case.mode)
        if kinds:
            await call(self._media, OpenRoom(room_id=RoomId(case.room_id), kinds=kinds))
        citizen = Principal(Role.CITIZEN, case.id, case.citizen_name, case.id)
        await self._notifier.emit(
            "case:matched",
            {"case": case_view(case, lawyer), "room": room_view(case, lawyer, citizen)},
            case_target(case.id),
        )
        mine = {"case": case_view(case, lawyer), "room": room_view(case, lawyer, me)}
        await self._notifier.emit("case:matched", mine, user_target(me.id))
        await self.push_queue()
        return mine

    async def write_notes(self, me: Principal, case_id: str, notes: str) -> None:
        case = await self._case(case_id)
        require(me, Action.WRITE_NOTES, case_resource(case))
        await self._cases.set_notes(case_id, notes, me.participant_id, self._clock())

    async def end(self, me: Principal, case_id: str, outcome: str) -> None:
        case = await self._case(case_id)
        require(me, Action.END_CASE, case_resource(case))
        if outcome not in catalogue.codes(catalogue.OUTCOMES):
            raise bad_request(f"未知的结果 / unknown outcome {outcome!r}", "outcome")
        if not await self._cases.end(case_id, outcome, me.participant_id, self._clock()):
            raise invalid_state("咨询未在进行中 / the consultation is not in progress")
        if case.room_id and case.mode in MEDIA_MODES:
            await self._media.request(CloseRoom(room_id=RoomId(case.room_id)))
        self._presence.get(me.id).busy = False
        ended = {"case_id": case_id, "outcome": outcome}
        await self._notifier.emit("case:ended", ended, case_target(case_id))
        await self._notifier.emit("case:ended", ended, user_target(me.id))
        await self.push_queue()

    # --- room ----------------------------------------------------------------------------

    async def chat(self, me: Principal, room_id: str, text: str) -> dict[str, Any]:
        room, case = await self._member_room(me, Action.ROOM_CHAT, room_id)
        message = await self._cases.add_chat(
            room_id=room.id, case_id=case.id, sender_role=me.role.value,
            sender_id=me.participant_id, sender_name=me.name, text=text, now=self._clock(),
        )
        view = chat_view(message)
        for target in _room_targets(case):
            await self._notifier.emit("chat:message", view, target)
        return view

    async def negotiate(self, me: Principal, room_id: str, sdp: str) -> str:
        room, case = await self._member_room(me, Action.ROOM_NEGOTIATE, room_id)
        if case.mode not in MEDIA_MODES:
            raise _no_media()
        reply = await self._media_call(
            Negotiate(room_id=RoomId(room.id), participant_id=ParticipantId(me.participant_id), sdp=sdp)
        )
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
        if not _is_member(me, case):
            raise ParleyError("not_in_room", "您不在该房间 / you are not in this room", 403)
        if room.closed_at is not None and not allow_closed:
            raise ParleyError("room_closed", "咨询已结束 / this consultation has ended", 409)
        return room, case

    async def _media_call(self, message: Negotiate | AddCandidate) -> object:
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


def _no_media() -> ParleyError:
    return ParleyError("media_unavailable", "文字咨询没有音视频 / a text consultation has no media", 409)


def _is_member(me: Principal, case: Case) -> bool:
    if me.role is Role.CITIZEN:
        return me.case_id == case.id
    return me.role is Role.LAWYER and str(case.lawyer_id) == me.id


def _room_targets(case: Case) -> tuple[str, str]:
    return case_target(case.id), user_target(str(case.lawyer_id))
