"""socket.io events of mediation rooms: thin handlers registered on the same server through
``SocketEvents.register`` (same authentication, rate limit, size cap, ack and error shape).

``MEDIATION_EVENTS`` is the table the access-matrix test checks.
"""

from __future__ import annotations

from typing import Any

from rooms import caucus
from server.mediation.schemas import (
    CandidateBody,
    CaseRef,
    CaucusBody,
    ChatBody,
    HandBody,
    LobbyBody,
    MemberRef,
    MoveBody,
    MuteBody,
    RecordingBody,
    SdpBody,
    ShowDocumentBody,
)
from server.members import Side
from server.policy import Action, Principal
from server.validation import parse
from signaling.events import Handler, SocketEvents
from signaling.mediation.room import MediationRoomService

MEDIATION_EVENTS: dict[str, Action] = {
    "mediation:lobby": Action.MEDIATION_JOIN,
    "mediation:enter": Action.MEDIATION_CONTROL,
    "mediation:resume": Action.MEDIATION_JOIN,
    "mediation:admit": Action.MEDIATION_CONTROL,
    "mediation:refuse": Action.MEDIATION_CONTROL,
    "mediation:remove": Action.MEDIATION_CONTROL,
    "mediation:mute": Action.MEDIATION_CONTROL,
    "mediation:caucus": Action.MEDIATION_CONTROL,
    "mediation:move": Action.MEDIATION_CONTROL,
    "mediation:caucus_end": Action.MEDIATION_CONTROL,
    "mediation:recording": Action.MEDIATION_CONTROL,
    "mediation:end": Action.MEDIATION_CONTROL,
    "mediation:show_document": Action.MEDIATION_CONTROL,
    "mediation:hand": Action.MEDIATION_JOIN,
    "mediation:chat": Action.MEDIATION_JOIN,
    "mediation:offer": Action.MEDIATION_JOIN,
    "mediation:candidate": Action.MEDIATION_JOIN,
    "mediation:leave": Action.MEDIATION_JOIN,
}


class MediationEvents:
    """Binds the mediation room service to the socket.io server of ``events``."""

    def __init__(self, events: SocketEvents, room: MediationRoomService) -> None:
        self._room = room
        handlers: dict[str, Handler] = {
            "mediation:lobby": self._lobby,
            "mediation:enter": self._enter,
            "mediation:resume": self._resume,
            "mediation:admit": self._admit,
            "mediation:refuse": self._refuse,
            "mediation:remove": self._remove,
            "mediation:mute": self._mute,
            "mediation:caucus": self._caucus,
            "mediation:move": self._move,
            "mediation:caucus_end": self._caucus_end,
            "mediation:recording": self._recording,
            "mediation:end": self._end,
            "mediation:show_document": self._show_document,
            "mediation:hand": self._hand,
            "mediation:chat": self._chat,
            "mediation:offer": self._offer,
            "mediation:candidate": self._candidate,
            "mediation:leave": self._leave,
        }
        assert handlers.keys() == MEDIATION_EVENTS.keys()
        for event, handler in handlers.items():
            events.register(event, handler)

    async def _lobby(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._room.lobby(me, parse(LobbyBody, data))

    async def _enter(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._room.enter(me, parse(CaseRef, data).case_id)

    async def _resume(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._room.resume(me, parse(CaseRef, data).case_id)

    async def _admit(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(MemberRef, data)
        return await self._room.control(
            me, body.case_id, lambda s, who, now: caucus.admit(s, who, body.participant_id, now))

    async def _refuse(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(MemberRef, data)
        return await self._room.control(
            me, body.case_id, lambda s, who, now: caucus.refuse(s, who, body.participant_id, now))

    async def _remove(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(MemberRef, data)
        return await self._room.control(
            me, body.case_id, lambda s, who, now: caucus.remove(s, who, body.participant_id, now))

    async def _mute(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(MuteBody, data)
        return await self._room.control(
            me, body.case_id,
            lambda s, who, now: caucus.mute(s, who, body.participant_id, body.muted, now))

    async def _caucus(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(CaucusBody, data)

        def split(s: caucus.RoomState, who: str, now: Any) -> caucus.Transition:
            if body.groups is not None:
                groups = body.groups
            else:
                groups = caucus.caucus_with(s, body.with_side or Side.APPLICANT)
            return caucus.split(s, who, groups, now)

        return await self._room.control(me, body.case_id, split)

    async def _move(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(MoveBody, data)
        return await self._room.control(
            me, body.case_id,
            lambda s, who, now: caucus.move(s, who, body.participant_id, body.group, now))

    async def _caucus_end(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._room.control(me, parse(CaseRef, data).case_id, caucus.end_caucus)

    async def _recording(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(RecordingBody, data)
        change = caucus.pause_recording if body.paused else caucus.resume_recording
        return await self._room.control(me, body.case_id, change)

    async def _end(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._room.control(me, parse(CaseRef, data).case_id, caucus.end_session)

    async def _show_document(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(ShowDocumentBody, data)
        await self._room.show_document(me, body.case_id, body.document_id)
        return {}

    async def _hand(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(HandBody, data)
        return await self._room.raise_hand(me, body.case_id, body.raised)

    async def _chat(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(ChatBody, data)
        return {"message": await self._room.chat(me, body.case_id, body.text)}

    async def _offer(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(SdpBody, data)
        return {"sdp": await self._room.offer(me, body.case_id, body.sdp)}

    async def _candidate(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(CandidateBody, data)
        c = body.candidate
        await self._room.candidate(me, body.case_id, c.candidate, c.sdpMid, c.sdpMLineIndex)
        return {}

    async def _leave(self, me: Principal, data: Any) -> dict[str, Any]:
        await self._room.leave(me, parse(CaseRef, data).case_id)
        return {}
