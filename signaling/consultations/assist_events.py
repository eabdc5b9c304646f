"""socket.io events of live assist (registered on the shared SocketEvents): thin handlers over
``LiveAssist``. ``ASSIST_EVENTS`` is the table the access-matrix test checks."""

from __future__ import annotations

from typing import Any

from server.policy import Action, Principal
from server.validation import parse
from signaling.consultations.assist import LiveAssist
from signaling.events import SocketEvents
from signaling.schemas import CandidateBody, CaseRef, Empty, SdpBody

ASSIST_EVENTS: dict[str, Action] = {
    "assist:live": Action.ASSIST_LIVE,
    "assist:listen": Action.ASSIST_LIVE,
    "assist:join": Action.ASSIST_LIVE,
    "assist:leave": Action.ASSIST_LIVE,
    "assist:offer": Action.ASSIST_LIVE,
    "assist:candidate": Action.ASSIST_LIVE,
}


class AssistEvents:
    def __init__(self, events: SocketEvents, assist: LiveAssist) -> None:
        self._assist = assist
        handlers = {
            "assist:live": self._live, "assist:listen": self._listen, "assist:join": self._join,
            "assist:leave": self._leave, "assist:offer": self._offer,
            "assist:candidate": self._candidate,
        }
        assert handlers.keys() == ASSIST_EVENTS.keys()
        for event, handler in handlers.items():
            events.register(event, handler)

    async def _live(self, me: Principal, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return await self._assist.live(me)

    async def _listen(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._assist.listen(me, parse(CaseRef, data).case_id)

    async def _join(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._assist.join(me, parse(CaseRef, data).case_id)

    async def _leave(self, me: Principal, data: Any) -> dict[str, Any]:
        return await self._assist.leave(me, parse(CaseRef, data).case_id)

    async def _offer(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(SdpBody, data)
        return {"sdp": await self._assist.negotiate(me, body.room_id, body.sdp)}

    async def _candidate(self, me: Principal, data: Any) -> dict[str, Any]:
        body = parse(CandidateBody, data)
        c = body.candidate
        await self._assist.add_candidate(me, body.room_id, c.candidate, c.sdpMid, c.sdpMLineIndex)
        return {}
