"""Live assist (docs/early-warning.md): a supervisor listens to an ongoing consultation without
being heard, and may join it (then heard). Both are written on the case's timeline.

Who hears whom is the media worker's routing table (rooms.messages.SetRouting): while a
supervisor listens, the citizen and the lawyer receive only each other, the supervisor receives
both; a joined supervisor is received by both, on a second audio slot their pages add. Whether a
supervisor is in the room is read from the timeline (the database), so any process agrees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rooms.messages import (
    AddCandidate,
    Answer,
    Leave,
    MediaWorkerError,
    Negotiate,
    ParticipantId,
    RoomId,
    SetRouting,
)
from rooms.worker import MediaWorker, call
from server.cases.repository import CaseRepository, CaseStatus
from server.errors import ParleyError, forbidden, invalid_state, not_found
from server.models import Case
from server.policy import Action, Principal, Role, require
from server.users import UserRepository
from signaling.consultations.service import MEDIA_MODES, Notifier
from signaling.consultations.supervisors import JOINED, LEFT, LISTENING, SLOTS, presence
from signaling.views import case_target, user_target


def routing(room_id: str, citizen: str, lawyer: str, supervisors: dict[str, str]) -> SetRouting:
    """The room's routing table with these supervisors (pure): a listener is never received."""
    allowed = [(citizen, lawyer), (lawyer, citizen)]
    for supervisor, state in supervisors.items():
        allowed += [(supervisor, citizen), (supervisor, lawyer)]
        if state == "joined":
            allowed += [(citizen, supervisor), (lawyer, supervisor)]
    others = list(supervisors)
    allowed += [(a, b) for a in others for b in others
                if a != b and supervisors[b] == "joined"]
    return SetRouting(room_id=RoomId(room_id),
                      allowed=tuple((ParticipantId(s), ParticipantId(p)) for s, p in allowed),
                      max_slots=SLOTS + len(others))


class LiveAssist:
    def __init__(self, *, cases: CaseRepository, users: UserRepository, media: MediaWorker,
                 notifier: Notifier, clock: Callable[[], datetime]) -> None:
        self._cases = cases
        self._users = users
        self._media = media
        self._notifier = notifier
        self._clock = clock

    async def live(self, me: Principal) -> dict[str, Any]:
        """Consultations with media going on now that this supervisor may listen to."""
        require(me, Action.ASSIST_LIVE)
        region = await self._region(me)
        serving = (await self._cases.open_cases()).serving
        found = []
        for case_id, (_lawyer, room_id, mode) in sorted(serving.items()):
            if not room_id or mode not in MEDIA_MODES:
                continue
            case = await self._cases.get(case_id)
            if case is None or (region and case.region != region):
                continue
            found.append({"case_id": case.id, "room_id": room_id, "mode": case.mode,
                          "category": case.category, "region": case.region,
                          "matched_at": case.matched_at.isoformat() if case.matched_at else None})
        return {"consultations": found}

    async def listen(self, me: Principal, case_id: str) -> dict[str, Any]:
        case = await self._live_case(me, case_id)
        await self._cases.add_event(case.id, me.participant_id, LISTENING,
                                    {"supervisor": me.name}, self._clock())
        await self._route(case)
        return {"case_id": case.id, "room_id": case.room_id, "mode": case.mode, "slots": SLOTS,
                "state": "listening"}

    async def join(self, me: Principal, case_id: str) -> dict[str, Any]:
        case = await self._live_case(me, case_id)
        if me.participant_id not in await self._present(case):
            raise invalid_state("请先旁听再加入 / listen before joining")
        await self._cases.add_event(case.id, me.participant_id, JOINED,
                                    {"supervisor": me.name}, self._clock())
        await self._route(case)
        # The parties' pages add a slot to hear the supervisor, and say who is there.
        notice = {"room_id": case.room_id, "event": "supervisor_joined", "slots": SLOTS,
                  "peer": {"role": Role.SUPERVISOR.value, "name": me.name}}
        await self._notifier.emit("room:peer", notice,
                                  [case_target(case.id), user_target(str(case.lawyer_id))])
        return {"case_id": case.id, "room_id": case.room_id, "mode": case.mode, "slots": SLOTS,
                "state": "joined"}

    async def leave(self, me: Principal, case_id: str) -> dict[str, Any]:
        require(me, Action.ASSIST_LIVE)
        case = await self._cases.get(case_id)
        if case is None:
            raise not_found("案件不存在 / no such case")
        state = (await self._present(case)).get(me.participant_id)
        if state is None:
            return {"state": "left"}
        await self._cases.add_event(case.id, me.participant_id, LEFT, {"supervisor": me.name},
                                    self._clock())
        if case.room_id and case.status == CaseStatus.IN_CONSULTATION:
            try:
                await self._media.request(Leave(room_id=RoomId(case.room_id),
                                                participant_id=ParticipantId(me.participant_id)))
                await self._route(case)
            except MediaWorkerError:
                pass  # the room is gone: nothing to leave
        if state == "joined":
            await self._notifier.emit("room:peer", {
                "room_id": case.room_id, "event": "supervisor_left",
                "peer": {"role": Role.SUPERVISOR.value, "name": me.name}},
                [case_target(case.id), user_target(str(case.lawyer_id))])
        return {"state": "left"}

    async def negotiate(self, me: Principal, room_id: str, sdp: str) -> str:
        case = await self._present_case(me, room_id)
        reply = await self._media_call(Negotiate(
            room_id=RoomId(room_id), participant_id=ParticipantId(me.participant_id), sdp=sdp))
        assert isinstance(reply, Answer)
        del case
        return reply.sdp

    async def add_candidate(self, me: Principal, room_id: str, candidate: str,
                            sdp_mid: str | None, index: int | None) -> None:
        await self._present_case(me, room_id)
        await self._media_call(AddCandidate(
            room_id=RoomId(room_id), participant_id=ParticipantId(me.participant_id),
            candidate=candidate, sdp_mid=sdp_mid, sdp_mline_index=index))

    # --- helpers -------------------------------------------------------------------------

    async def _region(self, me: Principal) -> str | None:
        user = await self._users.get(int(me.id)) if me.id.isdigit() else None
        return user.region if user is not None else None

    async def _live_case(self, me: Principal, case_id: str) -> Case:
        require(me, Action.ASSIST_LIVE)
        case = await self._cases.get(case_id)
        if case is None:
            raise not_found("案件不存在 / no such case")
        region = await self._region(me)
        if region and case.region != region:
            raise forbidden("只能旁听本辖区的咨询 / only consultations of your region")
        if case.status != CaseStatus.IN_CONSULTATION or not case.room_id:
            raise invalid_state("咨询未在进行 / this consultation is not going on")
        if case.mode not in MEDIA_MODES:
            raise ParleyError("media_unavailable",
                              "文字咨询没有音视频 / a text consultation has no media", 409)
        return case

    async def _present(self, case: Case) -> dict[str, str]:
        return presence([(e.actor, e.kind) for e in await self._cases.events(case.id)])

    async def _present_case(self, me: Principal, room_id: str) -> Case:
        require(me, Action.ASSIST_LIVE)
        room = await self._cases.room(room_id)
        case = await self._cases.get(room.case_id) if room else None
        if (case is None or case.status != CaseStatus.IN_CONSULTATION
                or me.participant_id not in await self._present(case)):
            raise ParleyError("not_in_room", "您不在该房间 / you are not in this room", 403)
        return case

    async def _route(self, case: Case) -> None:
        assert case.room_id is not None
        citizen = Principal(Role.CITIZEN, case.id, case.citizen_name, case.id).participant_id
        lawyer = f"{Role.LAWYER}-{case.lawyer_id}"
        await self._media_call(routing(case.room_id, citizen, lawyer, await self._present(case)))

    async def _media_call(self, message: Negotiate | AddCandidate | SetRouting) -> object:
        try:
            return await call(self._media, message)
        except MediaWorkerError as exc:
            status = 503 if exc.code == "media_unavailable" else 400
            raise ParleyError(exc.code, exc.message, status) from None
