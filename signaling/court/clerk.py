"""The court clerk's side: the applications filed with the clerk's court, each package with its
verification result, the confirmation session's record, and the decision, served electronically
on the parties and the mediator with a receipt each.

A clerk's court comes from ``clerk_courts`` (``parley user add --role clerk --court CODE``); a
clerk without one sees nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rooms import caucus
from server.agreements.content import AgreementContent
from server.agreements.models import ConfirmationApplication, ServiceReceipt
from server.agreements.repository import AgreementRepository
from server.agreements.schemas import DecisionBody, SessionBody
from server.court.rules import DISMISSAL_GROUNDS, court
from server.court.verify import verify_package_bytes
from server.errors import ParleyError, bad_request, invalid_state, not_found
from server.hashchain import canonical
from server.mediation.models import MediationParticipant
from server.mediation.repository import new_id
from server.members import MemberRole, Side
from server.policy import Action, Principal, require
from signaling.agreements.service import AgreementService
from signaling.agreements.views import application_view, iso
from signaling.consultations.service import Notifier
from signaling.court.applications import ConfirmationService
from signaling.court.dossier import dossier
from signaling.mediation.room import MediationRoomService
from signaling.mediation.views import participant_target


class CourtService:
    def __init__(self, *, agreements: AgreementService, confirmations: ConfirmationService,
                 repo: AgreementRepository, notifier: Notifier,
                 clock: Callable[[], datetime]) -> None:
        self._agreements = agreements
        self._confirmations = confirmations
        self._cases = agreements.cases
        self._repo = repo
        self._notifier = notifier
        self._clock = clock
        self.room: MediationRoomService | None = None  # set by signaling.app.factory once both exist

    async def _court_of(self, me: Principal) -> str:
        code = await self._repo.clerk_court(int(me.id))
        if code is None:
            raise ParleyError("no_court", "该账号未关联法院 / this clerk account has no court "
                              "(parley user add --court)", 403)
        return code

    async def _mine(self, me: Principal, action: Action, application_id: str
                    ) -> ConfirmationApplication:
        require(me, action)
        code = await self._court_of(me)
        application = await self._repo.application(application_id)
        if application is None or application.court_code != code \
                or application.status == "proposed":
            raise not_found("本院没有这个申请 / no such application at this court")
        return application

    async def list(self, me: Principal) -> dict[str, Any]:
        require(me, Action.COURT_REVIEW)
        code = await self._court_of(me)
        found = court(code)
        items = []
        for a in await self._repo.for_court(code):
            view = application_view(a)
            view["verification"] = (await self._verify(a))["ok"]
            case = await self._cases.repo.case(a.case_id)
            # Told apart by the case number and the parties, not by an id.
            view["case_number"] = case.case_number if case else None
            view["parties"] = ([case.applicant_name, case.respondent_name] if case else [])
            items.append(view)
        return {"court": found.to_dict() if found else {"code": code}, "applications": items}

    async def view(self, me: Principal, application_id: str) -> dict[str, Any]:
        application = await self._mine(me, Action.COURT_REVIEW, application_id)
        agreement = await self._repo.get(application.agreement_id)
        assert agreement is not None
        # The version the parties applied on, which is what the court confirms.
        version = await self._repo.version(agreement.id, application.version)
        assert version is not None
        return {"application": application_view(application,
                                                 await self._repo.receipts(application.id)),
                "verification": await self._verify(application),
                "agreement": await self._agreements.render(agreement, staff=True,
                                                              reader=("clerk", None)),
                "dossier": dossier(AgreementContent.model_validate(version.content), version,
                                   await self._repo.signatures(agreement.id),
                                   await self._cases.repo.case(application.case_id),
                                   await self._cases.repo.events(application.case_id)),
                "grounds": DISMISSAL_GROUNDS}

    async def package(self, me: Principal, application_id: str) -> tuple[str, bytes]:
        application = await self._mine(me, Action.COURT_REVIEW, application_id)
        path = self._confirmations.package_path(application)
        return f"confirmation-{application.id}.zip", await asyncio.to_thread(path.read_bytes)

    async def _verify(self, application: ConfirmationApplication) -> dict[str, Any]:
        path = self._confirmations.package_path(application)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            return {"ok": False, "problems": ["the package file is missing"], "report": ""}
        report = await asyncio.to_thread(verify_package_bytes, data, path.name)
        if report.ok and hashlib.sha256(data).hexdigest() != application.package_sha256:
            report.problems.append("the package is not the one submitted (sha256 differs)")
        return {"ok": report.ok, "problems": report.problems, "report": report.render()}

    async def session(self, me: Principal, application_id: str, body: SessionBody
                      ) -> dict[str, Any]:
        """The confirmation session: when both parties were asked together, and its record."""
        application = await self._mine(me, Action.COURT_DECIDE, application_id)
        if application.status != "submitted":
            raise invalid_state("已作出裁定 / already decided")
        await self._repo.update_application(application.id, session_at=body.at,
                                            session_record=body.record)
        await self._cases.audit(application.case_id, me.participant_id, "confirmation_session",
                                {"application": application.id, "at": body.at.isoformat()})
        await self._agreements.push(application.case_id)
        return await self.view(me, application.id)

    # --- the confirmation session in a room (docs/agreements.md) -------------------------

    async def open_room(self, me: Principal, application_id: str) -> dict[str, Any]:
        """Open (or return to) the confirmation session: the clerk presides in a new room of
        the mediation case; the parties are told and come through their /join lobby."""
        application = await self._mine(me, Action.COURT_DECIDE, application_id)
        if application.status != "submitted":
            raise invalid_state("已作出裁定 / already decided")
        if self.room is None:
            raise ParleyError("media_unavailable", "会议室不可用 / rooms are not available", 503)
        case_id = application.case_id
        mine = await self._cases.repo.staff_participant(case_id, int(me.id))
        if mine is None:
            mine = MediationParticipant(id=new_id(), case_id=case_id,
                                        role=MemberRole.PRESIDING.value, side=Side.NEUTRAL.value,
                                        name=me.name, user_id=int(me.id), created_at=self._clock())
            await self._cases.repo.add_participant(mine)
        reply = await self.room.enter(me, case_id)
        room_id = reply["room"]["room_id"]
        held = application.session_room or {}
        if held.get("room_id") != room_id:
            held = {"room_id": room_id, "started_at": iso(self._clock()), "ended_at": None,
                    "presiding": {"id": mine.id, "name": mine.name}, "attended": []}
            await self._repo.update_application(application.id, session_room=held)
            await self._cases.audit(case_id, me.participant_id, "confirmation_room_opened",
                                    {"application": application.id, "room": room_id})
            invitation = {"case_id": case_id, "application_id": application.id,
                          "room_id": room_id, "court": application.court_code}
            for p in await self._cases.repo.participants(case_id):
                if p.revoked_at is None and p.role in ("applicant", "respondent", "agent"):
                    await self._notifier.emit("court:session", invitation, participant_target(p))
        return {**reply, "application": await self._application(application.id)}

    async def close_room(self, me: Principal, application_id: str) -> dict[str, Any]:
        """End the confirmation session; its end and who attended go on the application."""
        application = await self._mine(me, Action.COURT_DECIDE, application_id)
        held = application.session_room
        if self.room is None or not held or held.get("ended_at"):
            raise invalid_state("没有进行中的确认会议 / no confirmation session in progress")
        case = await self._cases.repo.case(application.case_id)
        if case is not None and case.room_id == held["room_id"]:
            try:
                await self.room.control(me, application.case_id, caucus.end_session)
            except ParleyError as exc:
                if exc.code != "session_ended":
                    raise
        await self._record_end(application.id, held)
        return {"application": await self._application(application.id)}

    async def _application(self, application_id: str) -> dict[str, Any]:
        application = await self._repo.application(application_id)
        assert application is not None
        return application_view(application, await self._repo.receipts(application.id))

    async def _record_end(self, application_id: str, held: dict[str, Any]) -> None:
        """Who was admitted to the session's room (from the case timeline) and when it ended."""
        application = await self._repo.application(application_id)
        assert application is not None
        events = await self._cases.repo.events(application.case_id)
        start = next((i for i, e in enumerate(events) if e.kind == "session_opened"
                      and e.data.get("room") == held["room_id"]), len(events))
        admitted: list[str] = []
        for e in events[start + 1:]:
            if e.kind == "session_opened":
                break
            member = e.data.get("member")
            if e.kind == "admitted" and member and member not in admitted:
                admitted.append(member)
        people = {p.id: p for p in await self._cases.repo.participants(application.case_id)}
        attended = [{"id": m, "role": people[m].role, "name": people[m].name}
                    for m in admitted if m in people]
        ended = next((e.at for e in events[start + 1:] if e.kind == "session_ended"),
                     self._clock())
        await self._repo.update_application(application_id, session_room={
            **held, "ended_at": iso(ended), "attended": attended})

    async def decide(self, me: Principal, application_id: str, body: DecisionBody
                     ) -> dict[str, Any]:
        """Confirm, or dismiss on one of the grounds; then serve the decision on everyone."""
        application = await self._mine(me, Action.COURT_DECIDE, application_id)
        if not body.reasons.strip():
            # The ruling served on the parties says why; an empty reason is a clerk slip.
            raise bad_request("裁定须写明理由 / a decision states its reasons", "reasons")
        if body.decision == "dismissed" and body.ground is None:
            raise bad_request("驳回须写明理由 / a dismissal names its ground", "ground")
        if body.decision == "confirmed" and body.ground is not None:
            raise bad_request("确认不附驳回理由 / a confirmation has no dismissal ground", "ground")
        now = self._clock()
        if not await self._repo.update_application(
                application.id, from_status=["submitted"], status=body.decision,
                decision=body.decision, ground=body.ground, reasons=body.reasons,
                decided_at=now, decided_by=int(me.id)):
            raise invalid_state("已作出裁定 / already decided")
        found = court(application.court_code)
        document = {"application_id": application.id, "case_id": application.case_id,
                    "court": found.name if found else application.court_code,
                    "decision": body.decision, "ground": body.ground,
                    "ground_text": DISMISSAL_GROUNDS.get(body.ground or ""),
                    "reasons": body.reasons, "decided_at": iso(now),
                    "package_head": application.package_head}
        digest = hashlib.sha256(canonical(document)).hexdigest()
        for p in await self._cases.repo.participants(application.case_id):
            if p.revoked_at is None and p.role in ("applicant", "respondent", "mediator"):
                await self._repo.add(ServiceReceipt(
                    application_id=application.id, recipient_id=p.id, recipient_name=p.name,
                    document_sha256=digest, sent_at=now))
                await self._notifier.emit("agreement:decision", {
                    "case_id": application.case_id, "application_id": application.id,
                    "decision": document}, participant_target(p))
        await self._cases.audit(application.case_id, me.participant_id, "confirmation_decided", {
            "application": application.id, "decision": body.decision, "ground": body.ground,
            "document_sha256": digest})
        await self._agreements.push(application.case_id)
        return await self.view(me, application.id)
