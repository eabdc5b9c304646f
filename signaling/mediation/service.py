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
from server.mediation.repository import MediationRepository, new_id
from server.mediation.schemas import AcceptBody, CreateMediationBody, InviteBody
from server.members import MemberRole, Side
from server.policy import Action, CaseResource, Principal, Role, require
from server.tokens import Claims, sign
from server.users import UserRepository
from signaling.consultations.service import Notifier
from signaling.mediation.views import (
    case_view,
    document_view,
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
                 public_url: str, clock: Callable[[], datetime]) -> None:
        self.repo = repo
        self._users = users
        self._documents = documents
        self._notifier = notifier
        self._key = secret_key
        self._public_url = public_url
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
        await self.repo.create_case(case, row, me.participant_id, now)
        return await self.view(me, case.id)

    async def list_mine(self, me: Principal) -> list[dict[str, Any]]:
        require(me, Action.MEDIATION_CREATE)
        return [case_view(c, opens_at(c)) for c in await self.repo.cases_for_mediator(int(me.id))]

    async def view(self, me: Principal, case_id: str) -> dict[str, Any]:
        case, mine = await self.resolve(me, Action.MEDIATION_READ, case_id)
        staff = me.role is not Role.INVITEE
        participants = await self.repo.participants(case.id)
        return {
            "case": case_view(case, opens_at(case)),
            "self": participant_view(mine, staff=staff) if mine else None,
            "participants": [participant_view(p, staff=staff) for p in participants
                             if p.revoked_at is None],
            "documents": [document_view(d) for d in await self.repo.documents(case.id)],
        }

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
        row = MediationParticipant(
            id=new_id(), case_id=case.id, role=body.role.value, side=side.value, name=body.name,
            phone=body.phone, id_last4=body.id_last4.upper(), invite_code=new_code(),
            invite_expires_at=now + timedelta(hours=body.valid_hours), created_at=now)
        await self.repo.add_participant(row)
        await self.audit(case.id, me.participant_id, "invited",
                         {"participant": row.id, "role": row.role, "side": row.side})
        token = self.invitation_token(row)
        await self._push_case(case.id)
        return {"participant": participant_view(row, staff=True), "token": token,
                "code": row.invite_code, "link": f"{self._public_url}/join#invite={token}"}

    def invitation_token(self, p: MediationParticipant) -> str:
        """A signed single-purpose token: one participant of one case, until the expiry."""
        assert p.invite_expires_at is not None
        claims = Claims(sub=p.id, kind="invitee", role=Role.INVITEE.value, case=p.case_id,
                        name=p.name, exp=int(p.invite_expires_at.timestamp()))
        return sign(claims, self._key)

    async def redeem(self, code: str) -> dict[str, Any]:
        """Exchange the short code for the invitation token."""
        p = await self.repo.by_code(code.strip().upper().replace("-", ""))
        if p is None or p.revoked_at is not None:
            raise ParleyError("invitation_invalid", "邀请码无效 / unknown invitation code", 404)
        if p.invite_expires_at is None or p.invite_expires_at <= self._clock():
            raise ParleyError("invitation_expired", "邀请已过期 / this invitation has expired", 410)
        return {"token": self.invitation_token(p), "case_id": p.case_id, "participant_id": p.id}

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
        document = MediationDocument(id=document_id, case_id=case.id, uploaded_by=mine.id,
                                     filename=clean_filename(filename), content_type=content_type,
                                     size=len(data), sha256=digest, created_at=self._clock())
        await self.repo.add_document(document)
        await self.audit(case.id, me.participant_id, "document_uploaded",
                         {"document": document_id, "sha256": digest, "type": content_type})
        await self._push_case(case.id)
        return document_view(document)

    async def download(self, me: Principal, case_id: str, document_id: str
                       ) -> tuple[MediationDocument, bytes]:
        case, _ = await self.resolve(me, Action.MEDIATION_DOCUMENT, case_id)
        document = await self.repo.document(document_id)
        if document is None or document.case_id != case.id:
            raise not_found("文件不存在 / no such document")
        return document, self._documents.read(case.id, document.id)

    async def _push_case(self, case_id: str) -> None:
        """Tell everyone in the case that it changed (they re-read what they may see)."""
        for p in await self.repo.participants(case_id):
            if p.revoked_at is None:
                await self._notifier.emit("mediation:case", {"case_id": case_id},
                                          participant_target(p))


def _default_side(role: MemberRole) -> Side:
    if role is MemberRole.APPLICANT:
        return Side.APPLICANT
    if role is MemberRole.RESPONDENT:
        return Side.RESPONDENT
    return Side.NEUTRAL
