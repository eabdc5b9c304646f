"""The mediation case service: create, accept with a disclosure, invite, schedule, flag a risk,
close, the parties' answers, invitation codes, documents and the timeline.

REST handlers (signaling/mediation/api.py) call one method here each; the live room is
``signaling.mediation.room.MediationRoomService``. Every state change is written to the
case's hash-chained timeline (the audit log).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rooms import caucus
from server import catalogue
from server.errors import ParleyError, invalid_state, not_found
from server.mediation.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentStore,
    clean_filename,
    sniff,
    too_large,
    unsupported,
)
from server.mediation.models import MediationCase, MediationDocument, MediationParticipant
from server.mediation.numbers import committee_for
from server.mediation.repository import MediationRepository, new_id
from server.mediation.schemas import AcceptBody, CreateMediationBody, InviteBody
from server.members import MemberRole, Side
from server.personal_data import Relation
from server.policy import Action, CaseResource, Principal, Role, require
from server.tokens import Claims, sign
from server.users import UserRepository
from signaling.consultations.service import Notifier
from signaling.mediation.credentials import InviteeCredentials
from signaling.mediation.views import (
    case_view,
    document_view,
    document_visible,
    event_view,
    participant_target,
    participant_view,
)
from signaling.views import user_target

ACCEPTANCE_DAYS = 30  # pre-filing mediation: 30 days from the mediator's acceptance
ROOM_OPENS_BEFORE = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
LIVE = ("created", "accepted")


class CaseStatus:
    CREATED = "created"
    ACCEPTED = "accepted"
    SETTLED = "settled"
    FAILED = "failed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def opens_at(case: MediationCase) -> datetime | None:
    return case.scheduled_at - ROOM_OPENS_BEFORE if case.scheduled_at is not None else None


class MediationService:
    def __init__(self, *, repo: MediationRepository, users: UserRepository,
                 documents: DocumentStore, notifier: Notifier, secret_key: bytes,
                 credentials: InviteeCredentials, clock: Callable[[], datetime],
                 default_region: str = "qz-kecheng") -> None:
        self.repo = repo
        self._default_region = default_region
        self._users = users
        self._documents = documents
        self._notifier = notifier
        self._key = secret_key
        self.credentials = credentials
        self._clock = clock

    # --- who is asking -------------------------------------------------------------------

    async def resolve(self, me: Principal, action: Action, case_id: str
                      ) -> tuple[MediationCase, MediationParticipant | None]:
        """The case and the caller's participant row, after the policy check. Supervisors
        have no participant row."""
        require(me, action)
        case = await self.repo.case(case_id)
        if case is None:
            raise not_found("调解案件不存在 / no such mediation case")
        clerks = (frozenset(str(c) for c in await self.repo.presiding_clerks(case.id))
                  if me.role is Role.CLERK else frozenset())
        require(me, action, CaseResource(case.id, str(case.mediator_id), clerks))
        if me.role is Role.SUPERVISOR:
            return case, None
        if me.role in (Role.MEDIATOR, Role.CLERK):  # a clerk's row: made when the session opens
            participant = await self.repo.staff_participant(case.id, int(me.id))
        else:
            participant = await self.repo.participant(me.id)
        if participant is None or participant.case_id != case.id:
            raise ParleyError("forbidden", "不是本案参与人 / not a participant of this case", 403)
        if participant.revoked_at is not None:
            raise ParleyError("invitation_revoked", "邀请已撤销 / this invitation was revoked", 403)
        return case, participant

    async def audit(self, case_id: str, actor: str, kind: str, data: dict[str, Any]) -> None:
        await self.repo.append_event(case_id, self._clock(), actor, kind, data)

    # --- cases ---------------------------------------------------------------------------

    async def create(self, me: Principal, body: CreateMediationBody) -> dict[str, Any]:
        require(me, Action.MEDIATION_CREATE)
        mediator = await self._users.get(int(me.id))
        if mediator is None:
            raise not_found("调解员账号不存在 / mediator account not found")
        now = self._clock()
        case = MediationCase(
            id=new_id(), status=CaseStatus.CREATED, category=body.category,
            statement=body.statement, applicant_name=body.applicant_name,
            applicant_phone=body.applicant_phone, respondent_name=body.respondent_name,
            respondent_phone=body.respondent_phone, mediator_id=mediator.id,
            source_case_id=body.source_case_id, created_at=now, conflict_declared=False,
            escalation_risk=False)
        row = MediationParticipant(id=new_id(), case_id=case.id, role=MemberRole.MEDIATOR.value,
                                   side=Side.NEUTRAL.value, name=mediator.display_name,
                                   user_id=mediator.id, created_at=now)
        committee = committee_for(catalogue.default_catalogue(), mediator.region,
                                  self._default_region)
        case.committee_code = committee.code if committee else None
        await self.repo.create_case(case, row, me.participant_id, now,
                                    committee.prefix if committee else None)
        return await self.view(me, case.id)

    async def list_mine(self, me: Principal) -> list[dict[str, Any]]:
        require(me, Action.MEDIATION_CREATE)
        return [case_view(c, opens_at(c), Relation.CASE_MEDIATOR)
                for c in await self.repo.cases_for_mediator(int(me.id))]

    async def view(self, me: Principal, case_id: str) -> dict[str, Any]:
        case, mine = await self.resolve(me, Action.MEDIATION_READ, case_id)
        staff = me.role is not Role.INVITEE
        participants = [p for p in await self.repo.participants(case.id) if p.revoked_at is None]
        locks = await self.credentials.locks(case, participants) if staff else {}
        reader = _relation(me)

        def relation(p: MediationParticipant) -> Relation:
            return Relation.SELF if mine is not None and p.id == mine.id else reader

        return {
            "case": case_view(case, opens_at(case), reader),
            "self": participant_view(mine, staff=staff, personal=Relation.SELF) if mine
            else None,
            "participants": [participant_view(p, staff=staff, lock=locks.get(p.id),
                                              personal=relation(p)) for p in participants],
            "documents": await self.documents_for(case, mine),
        }

    async def documents_for(self, case: MediationCase, mine: MediationParticipant | None
                            ) -> list[dict[str, Any]]:
        """The case's documents ``mine`` may see (None: a supervisor, who sees all); one
        shared in a caucus is invisible to the others, name included."""
        return [document_view(d) for d in await self.repo.documents(case.id)
                if document_visible(d, mine)]

    async def accept(self, me: Principal, case_id: str, body: AcceptBody) -> dict[str, Any]:
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        now = self._clock()
        if not await self.repo.update_case(
                case.id, from_status=[CaseStatus.CREATED], status=CaseStatus.ACCEPTED,
                accepted_at=now, deadline_at=now + timedelta(days=ACCEPTANCE_DAYS),
                disclosure=body.disclosure, conflict_declared=body.conflict_declared):
            raise invalid_state("案件已受理或已结束 / the case is not awaiting acceptance")
        await self.audit(case.id, me.participant_id, "accepted",
                         {"conflict_declared": body.conflict_declared,
                          "deadline_days": ACCEPTANCE_DAYS})
        await self._push_case(case.id)
        return await self.view(me, case.id)

    async def invite(self, me: Principal, case_id: str, body: InviteBody) -> dict[str, Any]:
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        if case.status not in LIVE:
            raise invalid_state("案件已结束 / the case is closed")
        live = [p for p in await self.repo.participants(case.id) if p.revoked_at is None]
        if len(live) >= 8:
            raise ParleyError("room_full", "每个调解最多 8 人 / at most 8 participants", 409)
        now = self._clock()
        side = body.side or _default_side(body.role)
        code = await self.credentials.unused_code(new_code)
        row = MediationParticipant(
            id=new_id(), case_id=case.id, role=body.role.value, side=side.value, name=body.name,
            phone=body.phone, id_last4=body.id_last4.upper(), invite_code=code,
            invite_expires_at=now + timedelta(hours=body.valid_hours), created_at=now)
        await self.repo.add_participant(row)
        await self.audit(case.id, me.participant_id, "invited",
                         {"participant": row.id, "role": row.role, "side": row.side})
        delivery = await self.credentials.deliver(case, row, code)
        await self._push_case(case.id)
        # Never the token: only a party holds what lets them act as the party.
        return {"participant": participant_view(row, staff=True), **delivery}

    async def reissue(self, me: Principal, case_id: str, participant_id: str,
                      valid_hours: int) -> dict[str, Any]:
        """A new one-time code for an invitee (lost, used by someone else, or locked): the old
        code is dead, and the wrong tries so far no longer count."""
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        row = await self.repo.participant(participant_id)
        if row is None or row.case_id != case.id or row.user_id is not None:
            raise not_found("没有该受邀人 / no such invitee")
        if row.revoked_at is not None:
            raise invalid_state("邀请已撤销 / this invitation was revoked")
        now = self._clock()
        code = await self.credentials.unused_code(new_code)
        await self.repo.update_participant(row.id, invite_code=code, invite_redeemed_at=None,
                                           invite_expires_at=now + timedelta(hours=valid_hours),
                                           locks_cleared_at=now)
        await self.repo.update_case(case.id, locks_cleared_at=now)
        await self.audit(case.id, me.participant_id, "invitation_reissued",
                         {"participant": row.id})
        fresh = await self.repo.participant(row.id)
        assert fresh is not None
        delivery = await self.credentials.deliver(case, fresh, code)
        await self._push_case(case.id)
        return {"participant": participant_view(fresh, staff=True), **delivery}

    def invitation_token(self, p: MediationParticipant) -> str:
        """A signed single-purpose token: one participant of one case, until the expiry."""
        assert p.invite_expires_at is not None
        claims = Claims(sub=p.id, kind="invitee", role=Role.INVITEE.value, case=p.case_id,
                        name=p.name, exp=int(p.invite_expires_at.timestamp()))
        return sign(claims, self._key)

    async def redeem(self, code: str, address: str | None) -> dict[str, Any]:
        """Exchange the one-time code for the invitation token (to the invitee only)."""
        p = await self.credentials.redeemed(code.strip().upper().replace("-", ""), address)
        await self._redeemed(p, {"address": address})
        return {"token": self.invitation_token(p), "case_id": p.case_id, "participant_id": p.id}

    async def redeem_keys(self, keys: str, caller: str) -> Principal:
        """A code keyed on the phone line: the invitee it names, as whom the call then acts
        (the same checks as ``redeem``; the caller's number stands for the address)."""
        address = f"tel:{caller or 'withheld'}"
        p = await self.credentials.redeemed_by_keys(keys, address)
        await self._redeemed(p, {"address": address, "channel": "phone"})
        return Principal(Role.INVITEE, p.id, p.name, p.case_id)

    async def _redeemed(self, p: MediationParticipant, data: dict[str, Any]) -> None:
        await self.audit(p.case_id, p.id, "invitation_redeemed", {"participant": p.id, **data})
        await self._push_case(p.case_id)

    async def schedule(self, me: Principal, case_id: str, at: datetime) -> dict[str, Any]:
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        if not await self.repo.update_case(case.id, from_status=LIVE, scheduled_at=at):
            raise invalid_state("案件已结束 / the case is closed")
        await self.audit(case.id, me.participant_id, "scheduled", {"at": at.isoformat()})
        await self._push_case(case.id)
        return await self.view(me, case.id)

    async def flag_risk(self, me: Principal, case_id: str, note: str) -> dict[str, Any]:
        """Risk of escalation (人民调解法 Art 25): recorded and pushed to every supervisor."""
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        await self.repo.update_case(case.id, escalation_risk=True, escalation_note=note)
        await self.audit(case.id, me.participant_id, "escalation_risk", {"note": note})
        alert = {"case_id": case.id, "category": case.category, "note": note,
                 "mediator": me.name, "at": self._clock().isoformat()}
        for supervisor in await self.repo.supervisor_ids():
            await self._notifier.emit("mediation:escalation", alert, user_target(str(supervisor)))
        return await self.view(me, case.id)

    async def close(self, me: Principal, case_id: str, outcome: str, reason: str
                    ) -> dict[str, Any]:
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE, case_id)
        if not await self.repo.update_case(case.id, from_status=LIVE, status=outcome,
                                           closed_at=self._clock(), close_reason=reason):
            raise invalid_state("案件已结束 / the case is already closed")
        await self.audit(case.id, me.participant_id, "closed", {"outcome": outcome})
        await self._push_case(case.id)
        return await self.view(me, case.id)

    async def respond(self, me: Principal, case_id: str, decision: str, reason: str
                      ) -> dict[str, Any]:
        """A party consents to the mediator, objects to them (conflict of interest), or refuses
        mediation altogether, which ends the case (mediation is voluntary, Art 17)."""
        case, mine = await self.resolve(me, Action.MEDIATION_RESPOND, case_id)
        assert mine is not None
        if case.status not in LIVE:
            raise invalid_state("案件已结束 / the case is closed")
        if decision == "refuse":
            if mine.role not in (MemberRole.APPLICANT.value, MemberRole.RESPONDENT.value):
                raise ParleyError("forbidden", "只有当事人可以拒绝调解 / only a party may refuse", 403)
            await self.repo.update_case(case.id, from_status=LIVE, status=CaseStatus.REFUSED,
                                        closed_at=self._clock(),
                                        close_reason=f"{mine.role}: {reason}".strip())
        elif decision == "object":
            await self.repo.update_participant(mine.id, objection=reason or "objection")
        else:
            await self.repo.update_participant(mine.id, objection=None)
        await self.audit(case.id, me.participant_id, f"party_{decision}",
                         {"participant": mine.id, "reason": reason})
        await self._push_case(case.id)
        return await self.view(me, case.id)

    async def timeline(self, me: Principal, case_id: str) -> list[dict[str, Any]]:
        case, _ = await self.resolve(me, Action.MEDIATION_MANAGE if me.role is Role.MEDIATOR
                                     else Action.MEDIATION_SUPERVISE, case_id)
        return [event_view(e) for e in await self.repo.events(case.id)]

    async def flagged(self, me: Principal) -> list[dict[str, Any]]:
        require(me, Action.MEDIATION_SUPERVISE)
        return [case_view(c, opens_at(c)) for c in await self.repo.flagged()]

    # --- documents -----------------------------------------------------------------------

    async def upload(self, me: Principal, case_id: str, filename: str, data: bytes
                     ) -> dict[str, Any]:
        case, mine = await self.resolve(me, Action.MEDIATION_DOCUMENT, case_id)
        assert mine is not None
        if len(data) > MAX_DOCUMENT_BYTES:
            raise too_large()
        content_type = sniff(data[:16])
        if not data or content_type is None:
            raise unsupported()
        document_id = new_id()
        digest = self._documents.write(case.id, document_id, data)
        # Shared in a caucus: the uploader's group only (the mediator sees every document).
        state = caucus.from_dict(case.room_state) if case.room_state else None
        audience = ((list(caucus.chat_audience(state, mine.id)) or [mine.id])
                    if state is not None and state.in_caucus else None)
        document = MediationDocument(id=document_id, case_id=case.id, uploaded_by=mine.id,
                                     filename=clean_filename(filename), content_type=content_type,
                                     size=len(data), sha256=digest, created_at=self._clock(),
                                     audience=audience)
        await self.repo.add_document(document)
        await self.audit(case.id, me.participant_id, "document_uploaded",
                         {"document": document_id, "sha256": digest, "type": content_type,
                          "audience": audience})
        await self._push_case(case.id)
        return document_view(document)

    async def download(self, me: Principal, case_id: str, document_id: str
                       ) -> tuple[MediationDocument, bytes]:
        case, mine = await self.resolve(me, Action.MEDIATION_DOCUMENT, case_id)
        document = await self.repo.document(document_id)
        if document is None or document.case_id != case.id or not document_visible(document,
                                                                                    mine):
            raise not_found("文件不存在 / no such document")
        return document, self._documents.read(case.id, document.id)

    async def _push_case(self, case_id: str) -> None:
        """Tell everyone in the case that it changed (they re-read what they may see)."""
        for p in await self.repo.participants(case_id):
            if p.revoked_at is None:
                await self._notifier.emit("mediation:case", {"case_id": case_id},
                                          participant_target(p))


def _relation(me: Principal) -> Relation:
    """How a reader of a case view stands to its people (``resolve`` checked the mediator is
    this case's): docs/security.md, "3. Personal data by role"."""
    if me.role is Role.MEDIATOR:
        return Relation.CASE_MEDIATOR
    if me.role is Role.SUPERVISOR:
        return Relation.SUPERVISOR
    if me.role is Role.CLERK:
        return Relation.CLERK
    return Relation.OTHER


def _default_side(role: MemberRole) -> Side:
    if role is MemberRole.APPLICANT:
        return Side.APPLICANT
    if role is MemberRole.RESPONDENT:
        return Side.RESPONDENT
    return Side.NEUTRAL
