"""Joint applications for judicial confirmation, from the parties' side: the competent courts,
a proposal by one party, confirmation by every party, the package built at submission, the
30-day window's reminders, and the receipt of the court's decision.

The package is kept under ``<data dir>/agreements/<case>/<application>.zip``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from recordings.manifest import render
from recordings.repository import RecordingRepository
from server.agreements.content import AgreementContent, party_signers
from server.agreements.models import Agreement, ConfirmationApplication
from server.agreements.repository import AgreementRepository
from server.court.package import (
    AGREEMENT,
    AGREEMENT_PDF,
    APPLICATION,
    SIGNATURES,
    build,
    json_bytes,
)
from server.court.rules import (
    application_deadline,
    competent_courts,
    days_left,
    due_reminders,
    may_apply,
)
from server.db import Database
from server.errors import ParleyError, invalid_state, not_found
from server.hashchain import manifest_bytes
from server.mediation.models import MediationCase
from server.mediation.repository import new_id
from server.policy import Action, Principal
from signaling.agreements.service import COMMITTEE, AgreementService
from signaling.agreements.views import application_view, iso, receipt_view
from signaling.consultations.service import Notifier
from signaling.mediation.views import event_view, participant_target
from signaling.views import user_target

LIVE = ("proposed", "submitted", "confirmed")


class ConfirmationService:
    def __init__(self, *, agreements: AgreementService, repo: AgreementRepository,
                 database: Database, data_dir: Path, notifier: Notifier,
                 clock: Callable[[], datetime]) -> None:
        self._agreements = agreements
        self._cases = agreements.cases
        self._repo = repo
        self._recordings = RecordingRepository(database)
        self._root = data_dir / "agreements"
        self._notifier = notifier
        self._clock = clock

    def package_path(self, application: ConfirmationApplication) -> Path:
        return self._root / application.case_id / f"{application.id}.zip"

    async def _effective(self, me: Principal, action: Action, case_id: str
                         ) -> tuple[MediationCase, Any, Agreement, AgreementContent]:
        case, mine = await self._cases.resolve(me, action, case_id)
        agreement = await self._agreements.for_case(case.id)
        if agreement.status != "effective" or agreement.effective_at is None:
            raise invalid_state("协议尚未生效 / the agreement is not in effect yet")
        version = await self._agreements.current(agreement)
        return case, mine, agreement, AgreementContent.model_validate(version.content)

    async def courts(self, me: Principal, case_id: str) -> dict[str, Any]:
        """The competent courts the parties may choose among, and the window."""
        case, _ = await self._cases.resolve(me, Action.AGREEMENT_READ, case_id)
        agreement = await self._agreements.for_case(case.id)
        content = AgreementContent.model_validate(
            (await self._agreements.current(agreement)).content)
        found = competent_courts(
            inviting_court=content.inviting_court,
            party_regions=[p.domicile_region for p in content.parties],
            subject_region=content.subject_region, committee_region=content.committee.region)
        effective = agreement.effective_at
        return {"courts": [c.to_dict() for c in found],
                "deadline_at": iso(application_deadline(effective)) if effective else None,
                "days_left": days_left(effective, self._clock()) if effective else None}

    async def propose(self, me: Principal, case_id: str, court_code: str) -> dict[str, Any]:
        case, mine, agreement, content = await self._effective(me, Action.AGREEMENT_APPLY,
                                                               case_id)
        if mine.id not in party_signers(content):
            raise ParleyError("not_a_party", "只有当事人可以申请司法确认 / only a party applies", 403)
        now = self._clock()
        assert agreement.effective_at is not None
        if not may_apply(agreement.effective_at, now):
            raise ParleyError("confirmation_deadline_passed", "已超过协议生效后 30 日的申请期限 / the "
                              "30 days after the agreement took effect have passed", 409)
        courts = await self.courts(me, case_id)
        if court_code not in {c["code"] for c in courts["courts"]}:
            raise ParleyError("court_not_competent", "该法院对本协议无管辖权 / that court is not "
                              "competent for this agreement", 400, "court_code")
        if any(a.status in LIVE for a in await self._repo.applications(agreement.id)):
            raise ParleyError("application_exists", "已有申请 / an application already exists", 409)
        application = ConfirmationApplication(
            id=new_id(), agreement_id=agreement.id, case_id=case.id,
            version=agreement.current_version, court_code=court_code, status="proposed",
            proposed_by=mine.id, created_at=now,
            deadline_at=application_deadline(agreement.effective_at),
            confirmations={mine.id: now.isoformat()})
        await self._repo.add(application)
        await self._cases.audit(case.id, mine.id, "confirmation_proposed",
                                {"application": application.id, "court": court_code})
        await self._agreements.push(case.id)
        return application_view(application)

    async def confirm(self, me: Principal, case_id: str, application_id: str) -> dict[str, Any]:
        """A party confirms the joint application; the last one submits it with its package."""
        case, mine, agreement, content = await self._effective(me, Action.AGREEMENT_APPLY,
                                                               case_id)
        application = await self._repo.application(application_id)
        if application is None or application.case_id != case.id:
            raise not_found("没有这个申请 / no such application")
        if mine.id not in party_signers(content):
            raise ParleyError("not_a_party", "只有当事人可以确认申请 / only a party confirms", 403)
        if application.status != "proposed":
            raise invalid_state("申请已提交 / the application was already submitted")
        now = self._clock()
        if now > application.deadline_at:
            raise ParleyError("confirmation_deadline_passed", "已超过申请期限 / the 30 days have "
                              "passed", 409)
        confirmations = {**application.confirmations, mine.id: now.isoformat()}
        await self._repo.update_application(application.id, from_status=["proposed"],
                                            confirmations=confirmations)
        await self._cases.audit(case.id, mine.id, "confirmation_confirmed",
                                {"application": application.id})
        if set(party_signers(content)) <= set(confirmations):
            application.confirmations = confirmations
            await self._submit(case, agreement, content, application, now)
        await self._agreements.push(case.id)
        fresh = await self._repo.application(application.id)
        assert fresh is not None
        return application_view(fresh)

    async def _submit(self, case: MediationCase, agreement: Agreement, content: AgreementContent,
                      application: ConfirmationApplication, now: datetime) -> None:
        data, head = await self.package(case, agreement, content, application, now)
        path = self.package_path(application)
        await asyncio.to_thread(_write_atomically, path, data)
        if await self._repo.update_application(
                application.id, from_status=["proposed"], status="submitted", submitted_at=now,
                package_sha256=hashlib.sha256(data).hexdigest(), package_head=head):
            await self._cases.audit(case.id, COMMITTEE, "confirmation_submitted", {
                "application": application.id, "court": application.court_code,
                "package_head": head})
            for clerk in await self._repo.clerks_of(application.court_code):
                await self._notifier.emit("court:application", {"application_id": application.id},
                                          user_target(str(clerk)))

    async def package(self, case: MediationCase, agreement: Agreement,
                      content: AgreementContent, application: ConfirmationApplication,
                      now: datetime) -> tuple[bytes, str]:
        """Gather every document and build the sealed zip."""
        version = await self._agreements.current(agreement)
        signatures = await self._repo.signatures(agreement.id, version.number, live_only=True)
        participants = await self._cases.repo.participants(case.id)
        events = await self._cases.repo.events(case.id)
        by_id = {p.id: p for p in participants}
        sides = {p.id: p.side for p in participants}
        meta = {"application_id": application.id, "case_id": case.id,
                "agreement_id": agreement.id, "version": version.number,
                "agreement_sha256": version.sha256, "court_code": application.court_code,
                "submitted_at": now.isoformat()}
        application_doc = {
            **meta, "kind": "joint application for judicial confirmation (人民调解法 Art 33)",
            "effective_at": iso(agreement.effective_at), "deadline_at": iso(application.deadline_at),
            "applicants": [{"party": p.id, "name": p.name, "participant_id": p.participant_id,
                            "confirmed_at": application.confirmations.get(p.participant_id or "")}
                           for p in content.parties],
            "electronic_service_consent": True}
        proof = {"case_id": case.id, "category": case.category, "committee": content.committee
                 .model_dump(mode="json"), "mediators": [m.model_dump(mode="json")
                                                        for m in content.mediators],
                 "accepted_at": iso(case.accepted_at), "disclosure": case.disclosure,
                 "conflict_declared": case.conflict_declared,
                 "timeline_head": events[-1].hash if events else None}
        identities = [{"party": p.id, "name": p.name, "id_type": p.id_type,
                       "id_number": p.id_number, "sex": p.sex,
                       "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
                       "verified_at": iso(by_id[p.participant_id].verified_at)
                       if p.participant_id in by_id else None,
                       "verification": "name + last 4 ID characters (server.mediation.identity) at the "
                                       "lobby and again before signing"} for p in content.parties]
        addresses = [{"party": p.id, "name": p.name, "service_address": p.address,
                      "phone": p.phone, "electronic_service": True} for p in content.parties]
        consents: list[dict[str, Any]] = [{"participant_id": p.id, "role": p.role, "name": p.name,
            "online_mediation_at": iso(p.consent_mediation_at),
            "recording_at": iso(p.consent_recording_at)} for p in participants]
        consents += [{"event": e.kind, "at": iso(e.at), "actor": e.actor, "data": e.data}
                     for e in events if e.kind in ("consents", "consent")]
        # Only the joint session's chat: what was said in a caucus stays private (concessions
        # made in mediation may not be used against a party).
        parties_ids = {p.id for p in participants if p.role in ("applicant", "respondent")}
        chat = []
        for m in await self._repo.messages(case.id):
            audience_sides = {sides.get(pid) for pid in m.audience if pid in parties_ids}
            if {"applicant", "respondent"} <= audience_sides:
                chat.append({"at": iso(m.created_at), "sender": m.sender_name,
                             "role": m.sender_role, "text": m.text})
        pdf = await self._agreements.pdf_of(agreement, version.number)
        files: list[tuple[str, bytes]] = [
            (APPLICATION, json_bytes(application_doc)),
            (AGREEMENT, version.canonical.encode()),
            (AGREEMENT_PDF, pdf),
            (SIGNATURES, json_bytes([{
                "signer_id": s.signer_id, "role": s.signer_role, "name": s.signer_name,
                "algorithm": s.algorithm, "signature": s.signature, "public_key": s.public_key,
                "public_key_spki": s.public_key_spki, "fingerprint": s.fingerprint,
                "signed_at": iso(s.signed_at), "sha256": s.sha256} for s in signatures])),
            ("mediation_proof.json", json_bytes(proof)),
            ("identities.json", json_bytes(identities)),
            ("service_addresses.json", json_bytes(addresses)),
            ("consents.json", json_bytes(consents)),
            ("session/timeline.json", json_bytes([event_view(e) for e in events])),
            ("session/chat.json", json_bytes(chat)),
        ]
        for case_key in filter(None, (case.id, case.source_case_id)):
            for recording in await self._recordings.for_case(case_key):
                entries = await self._recordings.entries(recording.id)
                document = render({"id": recording.id, "case_id": recording.case_id,
                                   "room_id": recording.room_id}, entries)
                files.append((f"recordings/{recording.id}/manifest.json",
                              manifest_bytes(document)))
        return build(meta, files, self._agreements.seal, now.isoformat())

    # --- the decision, from the parties' side --------------------------------------------

    async def receive(self, me: Principal, case_id: str, application_id: str,
                      ip: str | None) -> dict[str, Any]:
        """The recipient's client fetched the served decision: it reached their system, which
        completes service (SPC online rules) and makes the receipt."""
        case, mine = await self._cases.resolve(me, Action.AGREEMENT_READ, case_id)
        if mine is None:
            raise ParleyError("forbidden", "只有受送达人可以签收 / only the recipient", 403)
        application = await self._repo.application(application_id)
        if application is None or application.case_id != case.id or application.decision is None:
            raise not_found("没有可签收的裁定 / no decision to receive")
        receipts = await self._repo.deliver(application.id, mine.id, self._clock(), ip)
        if not receipts:
            raise ParleyError("not_a_recipient", "不是受送达人 / not a recipient", 403)
        await self._cases.audit(case.id, mine.id, "decision_received",
                                {"application": application.id})
        return {"application": application_view(application),
                "receipts": [receipt_view(r) for r in receipts]}

    # --- reminders -----------------------------------------------------------------------

    async def tick(self) -> None:
        await self.remind()

    async def remind(self) -> int:
        """Send the 30-day window's reminders that are due (a ticker calls this)."""
        sent = 0
        now = self._clock()
        for agreement in await self._repo.effective():
            if agreement.effective_at is None:
                continue
            if any(a.status in LIVE for a in await self._repo.applications(agreement.id)):
                continue
            due = due_reminders(agreement.effective_at, now, agreement.reminders_sent or [])
            if not due:
                continue
            await self._repo.set_reminders(agreement.id, [*(agreement.reminders_sent or []), *due])
            payload = {"case_id": agreement.case_id, "days_left": min(due),
                       "deadline_at": iso(application_deadline(agreement.effective_at))}
            await self._cases.audit(agreement.case_id, COMMITTEE, "confirmation_reminder", payload)
            for p in await self._cases.repo.participants(agreement.case_id):
                if p.revoked_at is None:
                    await self._notifier.emit("agreement:reminder", payload, participant_target(p))
            sent += 1
        return sent


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
