"""The live mediation room: lobby with identity check and consents, mediator controls, caucus,
chat and media, over the pure state machine in ``rooms.caucus``.

Each change runs under the case's lock: compute the new ``RoomState``, snapshot it on the case
row, write its events to the timeline, hand the routing table to the media worker, then push
each member their own view. Chat goes to each reader's own socket target, never to a room-wide
broadcast, so a caucus group's messages cannot reach another group by any event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from recordings.policy import CURRENT_NOTICE, PHONE_NOTICE
from rooms import caucus
from rooms.caucus import CaucusError, Member, RoomState, Transition
from rooms.messages import (
    AddCandidate,
    Answer,
    Leave,
    MediaWorkerError,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
    RoutingTable,
    SetRouting,
)
from rooms.worker import MediaWorker, call
from server.errors import ParleyError, invalid_state
from server.mediation.models import MediationCase, MediationMessage, MediationParticipant
from server.mediation.repository import new_id
from server.mediation.schemas import LobbyBody
from server.members import MemberRole, Side
from server.policy import Action, Principal
from signaling.consultations.service import Notifier
from signaling.mediation.recording import MediationRecording
from signaling.mediation.service import LIVE, MediationService, opens_at
from signaling.mediation.views import chat_view, document_view, participant_target, room_view

MAX_SLOTS = 7  # 8 participants: each browser receives the 7 others


class MediationRoomService:
    def __init__(self, *, cases: MediationService, media: MediaWorker, notifier: Notifier,
                 clock: Callable[[], datetime],
                 recording: MediationRecording | None = None) -> None:
        self._cases = cases
        self._repo = cases.repo
        self._media = media
        self._notifier = notifier
        self._clock = clock
        self._states: dict[str, RoomState] = {}  # by room id; snapshots live on the case row
        self._locks: dict[str, asyncio.Lock] = {}
        self._recording = recording  # None: this process does not record (docs/mediation.md)
        # In-process listeners to a member's view (a phone party has no socket to push to).
        self._watchers: dict[str, Callable[[dict[str, Any]], None]] = {}

    def watch(self, participant_id: str, seen: Callable[[dict[str, Any]], None]
              ) -> Callable[[], None]:
        """Call ``seen`` with the member's room view after every change (as ``mediation:state``
        reaches a browser), and with ``{"renegotiate": True}`` when the room moved to another
        media worker (``room:renegotiate``); returns the function that stops it."""
        self._watchers[participant_id] = seen

        def stop() -> None:
            if self._watchers.get(participant_id) is seen:
                del self._watchers[participant_id]
        return stop

    # --- arriving ------------------------------------------------------------------------

    async def lobby(self, me: Principal, body: LobbyBody, address: str | None = None,
                    phone: bool = False) -> dict[str, Any]:
        """An invitee checks in: identity (throttled, ``InviteeCredentials``), consents, the
        sham-mediation warning; then waits. ``phone``: by the phone line, whose spoken notice
        (``PHONE_NOTICE``) is what the ledger keeps as heard."""
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, body.case_id)
        assert mine is not None
        self._check_open(case, mine)
        await self._cases.credentials.check_identity(case, mine, body.name, body.id_last4,
                                                     address, "lobby")
        if not body.consent_mediation or not body.sham_warning_read:
            raise ParleyError("consent_required",
                              "需同意在线调解并阅读虚假调解提示 / consent to online mediation and read "
                              "the warning first", 400, "consent_mediation")
        now = self._clock()
        await self._repo.update_participant(
            mine.id, verified_at=now, consent_mediation_at=now,
            consent_recording_at=now if body.consent_recording else None)
        await self._cases.audit(case.id, me.participant_id, "consents",
                                {"mediation": True, "recording": body.consent_recording,
                                 "sham_warning_read": True})
        return await self._arrive(case, mine, body.consent_recording, phone=phone)

    async def enter(self, me: Principal, case_id: str) -> dict[str, Any]:
        """The mediator opens (or returns to) the room; admitted at once. A presiding clerk
        (confirmation session, docs/agreements.md) opens a room of its own: a new room id, so
        the mediation's sessions and the court's are kept apart; the case may be closed."""
        case, mine = await self._cases.resolve(me, Action.MEDIATION_CONTROL, case_id)
        assert mine is not None
        presiding = mine.role == MemberRole.PRESIDING.value
        if case.status not in LIVE and not presiding:
            raise invalid_state("案件已结束 / the case is closed")
        return await self._arrive(case, mine, fresh=presiding)

    async def resume(self, me: Principal, case_id: str) -> dict[str, Any]:
        """After a reload: the room as the caller sees it, their chat and their slots."""
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, case_id)
        assert mine is not None
        if case.room_id is None:
            return {"room": None, "chat": [], "media_slots": 0}
        return await self._reply(case, self._state(case), mine)

    async def _arrive(self, case: MediationCase, mine: MediationParticipant,
                      consent_recording: bool | None = None, fresh: bool = False,
                      phone: bool = False) -> dict[str, Any]:
        """``consent_recording``: the invitee's lobby answer; None for the mediator, who
        consents to recording by opening the session. ``fresh``: open a new room unless the
        caller is already in the current one."""
        member = Member(mine.id, MemberRole(mine.role), mine.name, Side(mine.side), phone=phone)
        async with self._lock(case.id):
            case = await self._fresh(case.id)
            if case.room_id is None or self._state(case).ended or (
                    fresh and self._state(case).member(mine.id) is None):
                room_id = new_id()
                await self._repo.update_case(case.id, room_id=room_id,
                                             room_state=caucus.to_dict(RoomState()))
                self._states[room_id] = RoomState()
                case = await self._fresh(case.id)
                await self._cases.audit(case.id, mine.id, "session_opened", {"room": room_id})
            await self._ensure_media(case)
            if self._recording is not None:  # the ledger row; a required refusal raises
                await self._recording.consent(case, mine, consent_recording,
                                              PHONE_NOTICE if phone else CURRENT_NOTICE)
            state = self._state(case)
            transition = self._run(lambda: caucus.arrive(state, member, self._clock()))
            await self._commit(case, transition, mine.id)
        return await self._reply(case, transition.state, mine)

    # --- mediator controls ---------------------------------------------------------------

    async def control(self, me: Principal, case_id: str,
                      change: Callable[[RoomState, str, datetime], Transition]) -> dict[str, Any]:
        """Run one mediator control (admit, refuse, remove, mute, caucus, move, recording,
        end) as ``change(state, actor member id, now)``."""
        case, mine = await self._cases.resolve(me, Action.MEDIATION_CONTROL, case_id)
        return await self._change(case, mine, change)

    async def raise_hand(self, me: Principal, case_id: str, raised: bool) -> dict[str, Any]:
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, case_id)
        return await self._change(case, mine, lambda s, who, now: caucus.raise_hand(s, who, raised, now))

    async def _change(self, case: MediationCase, mine: MediationParticipant | None,
                      change: Callable[[RoomState, str, datetime], Transition]) -> dict[str, Any]:
        assert mine is not None
        if case.room_id is None:
            raise invalid_state("调解会议尚未开始 / the session has not started")
        async with self._lock(case.id):
            case = await self._fresh(case.id)
            state = self._state(case)
            transition = self._run(lambda: change(state, mine.id, self._clock()))
            await self._commit(case, transition, mine.id)
        return {"room": room_view(case, transition.state, mine.id)}

    # --- chat and documents --------------------------------------------------------------

    async def chat(self, me: Principal, case_id: str, text: str) -> dict[str, Any]:
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, case_id)
        assert mine is not None
        state = self._state(case) if case.room_id else RoomState()
        audience = caucus.chat_audience(state, mine.id)
        if not audience or case.room_id is None:
            raise ParleyError("not_admitted", "尚未准许进入 / you are not in the room", 403)
        message = await self._repo.add_message(MediationMessage(
            case_id=case.id, room_id=case.room_id, sender_id=mine.id, sender_role=mine.role,
            sender_name=mine.name, text=text, audience=list(audience),
            created_at=self._clock()))
        view = chat_view(message)
        await self._to_members(case.id, audience, "mediation:chat", view)
        return view

    async def show_document(self, me: Principal, case_id: str, document_id: str) -> None:
        """The mediator shows a case document to those who can hear and see them now."""
        case, mine = await self._cases.resolve(me, Action.MEDIATION_CONTROL, case_id)
        assert mine is not None
        document = await self._repo.document(document_id)
        if document is None or document.case_id != case.id:
            raise ParleyError("not_found", "文件不存在 / no such document", 404)
        audience = caucus.chat_audience(self._state(case), mine.id)
        if document.audience is not None:  # a private document now reaches these too
            await self._repo.set_document_audience(
                document.id, sorted({*document.audience, *audience}))
        await self._cases.audit(case.id, mine.id, "document_shown",
                                {"document": document_id, "audience": list(audience)})
        await self._to_members(case.id, audience, "mediation:document",
                               {"case_id": case.id, "document": document_view(document)})

    # --- media ---------------------------------------------------------------------------

    async def offer(self, me: Principal, case_id: str, sdp: str) -> str:
        case, mine = await self._admitted(me, case_id)
        await self._ensure_media(case)
        reply = await self._media_call(Negotiate(RoomId(str(case.room_id)),
                                                 ParticipantId(mine.id), sdp))
        assert isinstance(reply, Answer)
        await self._push_slots(case)
        if self._recording is not None:
            await self._recording.returned(case, mine.id)
        return reply.sdp

    async def candidate(self, me: Principal, case_id: str, candidate: str, sdp_mid: str | None,
                        index: int | None) -> None:
        case, mine = await self._admitted(me, case_id)
        await self._media_call(AddCandidate(RoomId(str(case.room_id)), ParticipantId(mine.id),
                                            candidate, sdp_mid, index))

    async def leave(self, me: Principal, case_id: str) -> None:
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, case_id)
        assert mine is not None
        if case.room_id is not None:
            await self._media.request(Leave(RoomId(case.room_id), ParticipantId(mine.id)))
            await self._push_slots(case)
            if self._recording is not None:
                await self._recording.left(case, mine.id)

    async def renegotiate(self, room_id: str) -> None:
        """The room moved to another media worker (its worker died): everyone in it offers
        again (``room:renegotiate``, as in a consultation; docs/protocol.md)."""
        case = await self._repo.case_in_room(room_id)
        if case is None:
            return
        state = self._state(case)
        if state.ended:
            return
        await self._to_members(case.id, tuple(m.id for m in state.members), "room:renegotiate",
                               {"room_id": room_id, "case_id": case.id})
        for member in state.members:  # phone parties offer again too
            if (seen := self._watchers.get(member.id)) is not None:
                seen({"renegotiate": True})

    async def link_changed(self, room_id: str, participant_id: str, state: str) -> None:
        """A member's downlink changed (rooms.media.link): the worker stopped sending it video
        (``audio_only``), tries again (``trial``) or sends it again (``video``). Everyone
        present is told whose link it is (``call:link``); only that member's page pauses its
        own camera with it (a link too weak to receive video is usually too weak to send it),
        the others keep sending theirs to the rest of the room."""
        case = await self._repo.case_in_room(room_id)
        if case is None:
            return  # a consultation's room, or one that is gone
        state_now = self._state(case)
        if state_now.ended:
            return
        await self._to_members(case.id, tuple(m.id for m in state_now.members), "call:link",
                               {"room_id": room_id, "case_id": case.id,
                                "participant_id": participant_id, "state": state})

    async def _admitted(self, me: Principal, case_id: str
                        ) -> tuple[MediationCase, MediationParticipant]:
        case, mine = await self._cases.resolve(me, Action.MEDIATION_JOIN, case_id)
        assert mine is not None
        member = self._state(case).member(mine.id) if case.room_id else None
        if member is None or member.lobby is not caucus.Lobby.ADMITTED:
            raise ParleyError("not_admitted", "请等待调解员准许进入 / wait until the mediator admits you",
                              403)
        if self._state(case).ended:
            raise ParleyError("room_closed", "调解会议已结束 / the session has ended", 409)
        return case, mine

    async def _media_call(self, message: Negotiate | AddCandidate) -> object:
        try:
            return await call(self._media, message)
        except MediaWorkerError as exc:
            raise ParleyError(exc.code, exc.message, 503 if exc.code == "media_unavailable"
                              else 400) from None

    async def _ensure_media(self, case: MediationCase) -> None:
        """Open the worker's room (idempotent) and give it the routing table."""
        assert case.room_id is not None
        await self._media_call_plain(OpenRoom(RoomId(case.room_id)))
        await self._apply_routing(case, self._state(case))

    async def _media_call_plain(self, message: OpenRoom) -> None:
        try:
            await call(self._media, message)
        except MediaWorkerError as exc:
            raise ParleyError(exc.code, exc.message, 503) from None

    async def _apply_routing(self, case: MediationCase, state: RoomState) -> RoutingTable | None:
        assert case.room_id is not None
        message = SetRouting(
            RoomId(case.room_id),
            tuple((ParticipantId(s), ParticipantId(p)) for s, p in caucus.allowed_pairs(state)),
            tuple(ParticipantId(m.id) for m in state.admitted if m.muted), MAX_SLOTS)
        reply = await self._media.request(message)
        return reply if isinstance(reply, RoutingTable) else None

    async def _push_slots(self, case: MediationCase, table: RoutingTable | None = None) -> None:
        """Tell each connected browser who is on each of its receiving slots."""
        if table is None:
            table = await self._apply_routing(case, self._state(case))
        if table is None:
            return
        for p in await self._repo.participants(case.id):
            if p.id in table.slots:
                await self._notifier.emit("mediation:slots", {
                    "case_id": case.id, "slots": table.slots[p.id]}, participant_target(p))

    # --- state plumbing ------------------------------------------------------------------

    def _check_open(self, case: MediationCase, mine: MediationParticipant) -> None:
        if case.room_id is not None and _presided(self._state(case)):
            return  # a court's confirmation session: open while the clerk holds it
        if case.status != "accepted":
            raise invalid_state("调解尚未受理或已结束 / the case is not open for a session")
        if mine.invite_expires_at is not None and mine.invite_expires_at <= self._clock():
            raise ParleyError("invitation_expired", "邀请已过期 / this invitation has expired", 410)
        start = opens_at(case)
        if start is not None and self._clock() < start:
            raise ParleyError("room_not_open",
                              f"会议室将于 {start.isoformat()} 开放 / the room opens at {start.isoformat()}",
                              409)

    def _lock(self, case_id: str) -> asyncio.Lock:
        return self._locks.setdefault(case_id, asyncio.Lock())

    async def _fresh(self, case_id: str) -> MediationCase:
        case = await self._repo.case(case_id)
        assert case is not None
        return case

    def _state(self, case: MediationCase) -> RoomState:
        assert case.room_id is not None
        state = self._states.get(case.room_id)
        if state is None:
            state = caucus.from_dict(case.room_state or {})
            self._states[case.room_id] = state
        return state

    def _run(self, step: Callable[[], Transition]) -> Transition:
        try:
            return step()
        except CaucusError as exc:
            status = {"forbidden": 403, "not_found": 404, "bad_request": 400}.get(exc.code, 409)
            raise ParleyError(exc.code, exc.message, status) from None

    async def _commit(self, case: MediationCase, transition: Transition, actor: str) -> None:
        assert case.room_id is not None
        state = transition.state
        self._states[case.room_id] = state
        await self._repo.update_case(case.id, room_state=caucus.to_dict(state))
        for event in transition.events:
            await self._repo.append_event(case.id, event.at, event.actor, event.kind,
                                          dict(event.data))
        table = await self._apply_routing(case, state)
        if self._recording is not None:  # after the routing: nothing recorded crosses groups
            await self._recording.after(case, transition)
        await self._push_states(case, state)
        await self._push_slots(case, table)

    async def _push_states(self, case: MediationCase, state: RoomState) -> None:
        present = {m.id for m in state.members}
        for p in await self._repo.participants(case.id):
            if p.id in present:
                view = room_view(case, state, p.id)
                await self._notifier.emit("mediation:state", view, participant_target(p))
                if (seen := self._watchers.get(p.id)) is not None:
                    seen(view)

    async def _to_members(self, case_id: str, ids: tuple[str, ...], event: str,
                          payload: dict[str, Any]) -> None:
        wanted = set(ids)
        for p in await self._repo.participants(case_id):
            if p.id in wanted:
                await self._notifier.emit(event, payload, participant_target(p))

    async def _reply(self, case: MediationCase, state: RoomState, mine: MediationParticipant
                     ) -> dict[str, Any]:
        assert case.room_id is not None
        chat = await self._repo.messages_for(case.id, case.room_id, mine.id)
        others = len([p for p in await self._repo.participants(case.id) if p.revoked_at is None])
        return {"room": room_view(case, state, mine.id), "chat": [chat_view(m) for m in chat],
                "media_slots": max(1, min(MAX_SLOTS, others - 1))}


def _presided(state: RoomState) -> bool:
    """A confirmation session held by a clerk (docs/agreements.md) and not ended."""
    return not state.ended and any(m.role is MemberRole.PRESIDING for m in state.admitted)
