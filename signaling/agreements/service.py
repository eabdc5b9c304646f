"""The agreement service: draft from the case, live edits with optimistic concurrency, comments
on clauses, electronic signatures, the committee's seal, the effective time, the PDF and the
mediator's performance follow-up.

Who is asking is settled by ``MediationService.resolve`` (policy check, then the caller's own
participant row): a signature is always the caller's own, never named in the request, so nobody
can sign for anybody else. Every change is written to the case's hash-chained timeline and
pushed to every participant of the case (``agreement:updated``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server import catalogue
from server.agreements.check import check, esign_excluded
from server.agreements.content import (
    AgreementContent,
    Committee,
    MediatorRef,
    Party,
    canonical_document,
    canonical_text,
    clause_exists,
    party_signers,
    problems,
    required_signers,
    sha256_hex,
)
from server.agreements.followup import PerformanceRecord, overdue, today_in_china
from server.agreements.models import (
    Agreement,
    AgreementComment,
    AgreementSignature,
    AgreementVersion,
    ObligationPerformance,
)
from server.agreements.pdf import render_pdf
from server.agreements.repository import AgreementRepository
from server.agreements.schemas import PerformanceBody, SignBody
from server.agreements.signing import (
    ALGORITHM,
    SealKey,
    SignatureError,
    b64url,
    fingerprint,
    public_key_from_jwk,
    spki_der,
    verify,
)
from server.court.rules import application_deadline
from server.errors import ParleyError, bad_request, invalid_state, not_found
from server.faults import NO_FAULTS, Faults
from server.mediation.models import MediationCase, MediationParticipant
from server.mediation.repository import new_id
from server.personal_data import sees_full
from server.policy import Action, Principal, Role, require
from server.users import UserRepository
from signaling.agreements.views import Reader, agreement_view, masked_content, reader_relation
from signaling.consultations.service import Notifier
from signaling.mediation.service import MediationService
from signaling.mediation.views import participant_target

PARTY_ROLES = ("applicant", "respondent")
COMMITTEE = "committee"


@dataclass(frozen=True)
class SigningContext:
    ip: str | None
    user_agent: str | None


class AgreementService:
    def __init__(self, *, cases: MediationService, repo: AgreementRepository,
                 users: UserRepository, seal: SealKey,
                 notifier: Notifier, default_region: str, clock: Callable[[], datetime],
                 faults: Faults = NO_FAULTS) -> None:
        self.cases = cases
        self.repo = repo
        self._users = users
        self.seal = seal
        self._notifier = notifier
        self._default_region = default_region
        self._clock = clock
        self._faults = faults
        self._locks: dict[str, asyncio.Lock] = {}

    # --- reading -------------------------------------------------------------------------

    async def view(self, me: Principal, case_id: str) -> dict[str, Any]:
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_READ, case_id)
        agreement = await self.repo.for_case(case.id)
        signing = {"code_required": mine is not None and me.role is Role.INVITEE
                   and self.cases.credentials.code_required(mine)}
        if agreement is None:
            return {"agreement": None, "case_id": case.id,
                    "self": mine.id if mine else None, "signing": signing}
        if agreement.status == "drafting" and await self._complete_if_signed(case, agreement):
            agreement = await self.for_case(case.id)  # a crash had left it unsealed: now sealed
        return {**await self.render(agreement, staff=me.role is not Role.INVITEE,
                                    reader=_reader(me.role, mine)),
                "self": mine.id if mine else None, "signing": signing}

    async def send_code(self, me: Principal, case_id: str) -> dict[str, Any]:
        """Send the signer the one-time code that binds their signature to them."""
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_SIGN, case_id)
        if mine is None or me.role is not Role.INVITEE:
            raise ParleyError("forbidden", "只能由本人签名 / only a signer may sign", 403)
        return await self.cases.credentials.send_signing_code(case, mine)

    async def render(self, agreement: Agreement, *, staff: bool, reader: Reader
                     ) -> dict[str, Any]:
        """The view for one reader: ``reader`` is how they stand to the parties, (role,
        participant id); personal data is masked unless ``personal_data.sees_full``."""
        version = await self.current(agreement)
        content = AgreementContent.model_validate(version.content)
        relation = reader_relation(reader, required_signers(content))
        performance = await self.repo.performance([agreement.id])
        case = await self.cases.repo.case(agreement.case_id)
        view = agreement_view(
            agreement, version, content, problems(content), check(content),
            signatures=await self.repo.signatures(agreement.id),
            versions=await self.repo.versions(agreement.id),
            comments=await self.repo.comments(agreement.id),
            applications=await self.repo.applications(agreement.id),
            overdue=overdue(content, _records(performance), today_in_china(self._clock())),
            performance=performance, staff=staff, seal_fingerprint=self.seal.fingerprint,
            personal=relation)
        # The case's readable number, shown above the agreement (not part of what is signed).
        view["case_number"] = case.case_number if case else None
        return view

    async def current(self, agreement: Agreement) -> AgreementVersion:
        version = await self.repo.version(agreement.id, agreement.current_version)
        assert version is not None
        return version

    async def for_case(self, case_id: str) -> Agreement:
        agreement = await self.repo.for_case(case_id)
        if agreement is None:
            raise ParleyError("agreement_missing", "尚未起草调解协议 / no agreement yet", 404)
        return agreement

    # --- drafting ------------------------------------------------------------------------

    async def draft(self, me: Principal, case_id: str) -> dict[str, Any]:
        """Start the agreement from the case: parties from the invitations, facts from the
        statement, the mediator, and the committee of the mediator's region."""
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_EDIT, case_id)
        assert mine is not None
        if case.status != "accepted":
            raise invalid_state("案件未受理或已结束 / draft while the case is open")
        content = await self._from_case(case, mine)
        now = self._clock()
        agreement = Agreement(id=new_id(), case_id=case.id, status="drafting", current_version=1,
                              created_at=now, reminders_sent=[])
        if not await self.repo.create(agreement, self._version(agreement, 1, content, mine, now)):
            raise ParleyError("agreement_exists", "本案已有调解协议 / the case has an agreement", 409)
        await self.cases.audit(case.id, mine.id, "agreement_drafted", {"agreement": agreement.id})
        return await self._changed(case.id, me)

    async def _from_case(self, case: MediationCase, mine: MediationParticipant
                         ) -> AgreementContent:
        participants = [p for p in await self.cases.repo.participants(case.id)
                        if p.revoked_at is None]
        parties: list[Party] = []
        for side, name, phone in (("applicant", case.applicant_name, case.applicant_phone),
                                  ("respondent", case.respondent_name, case.respondent_phone)):
            invited = [p for p in participants if p.role == side]
            for n, p in enumerate(invited or [None], start=1):
                parties.append(Party(id=f"{side[0]}{n}", side=side,  # type: ignore[arg-type]
                                     name=p.name if p else name,
                                     phone=(p.phone if p and p.phone else phone),
                                     participant_id=p.id if p else None))
        user = await self._users.get(case.mediator_id)
        region = (user.region if user and user.region else self._default_region)
        found = catalogue.default_catalogue().regions.get(region)
        region_name = f"{found.zh if found else region}人民调解委员会"
        # The committee the case was numbered by (catalogue data), when it has one.
        numbered = catalogue.default_catalogue().institutions.get(case.committee_code or "")
        if numbered is not None:
            region, region_name = numbered.region, numbered.zh
        return AgreementContent(
            category=case.category, parties=parties, facts=case.statement,
            copies=len(parties) + 1,
            mediators=[MediatorRef(name=mine.name, participant_id=mine.id)],
            committee=Committee(name=region_name, region=region))

    def _version(self, agreement: Agreement, number: int, content: AgreementContent,
                 author: MediationParticipant, now: datetime) -> AgreementVersion:
        text = canonical_text(canonical_document(agreement.id, agreement.case_id, number, content))
        return AgreementVersion(agreement_id=agreement.id, number=number,
                                content=content.to_json(), canonical=text,
                                sha256=sha256_hex(text), author_id=author.id,
                                author_name=author.name, created_at=now)

    async def save(self, me: Principal, case_id: str, base_version: int,
                   content: AgreementContent) -> dict[str, Any]:
        """A new version on ``base_version``; a stale base is a ``version_conflict``. Signatures
        on earlier versions are voided."""
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_EDIT, case_id)
        assert mine is not None
        await self._check_links(case.id, content)
        async with self._lock(case.id):
            agreement = await self.for_case(case.id)
            if agreement.status != "drafting":
                raise ParleyError("agreement_effective",
                                  "协议已生效，不能修改 / the agreement is in effect", 409)
            if base_version != agreement.current_version:
                raise self._conflict(agreement.current_version)
            now = self._clock()
            version = self._version(agreement, base_version + 1, content, mine, now)
            voided = await self.repo.save_version(agreement.id, base_version, version, now)
            if voided is None:
                fresh = await self.for_case(case.id)
                raise self._conflict(fresh.current_version)
        await self.cases.audit(case.id, mine.id, "agreement_saved", {
            "version": version.number, "sha256": version.sha256,
            "voided_signatures": [s.signer_id for s in voided]})
        return await self._changed(case.id, me)

    @staticmethod
    def _conflict(current: int) -> ParleyError:
        return ParleyError("version_conflict",
                           f"协议已被修改为第 {current} 版，请在最新版本上修改 / the agreement is at "
                           f"version {current}; reload and edit that", 409)

    async def _check_links(self, case_id: str, content: AgreementContent) -> None:
        """Parties and mediators may only name live participants of this case, in their role."""
        rows = {p.id: p for p in await self.cases.repo.participants(case_id)
                if p.revoked_at is None}
        for i, party in enumerate(content.parties):
            p = rows.get(party.participant_id or "")
            if party.participant_id and (p is None or p.role != party.side):
                raise ParleyError("participant_unknown",
                                  "当事人须关联本案同一身份的参与人 / link a participant of this case "
                                  "with the same role", 400, f"content.parties.{i}.participant_id")
        for i, m in enumerate(content.mediators):
            p = rows.get(m.participant_id or "")
            if m.participant_id and (p is None or p.role != "mediator"):
                raise ParleyError("participant_unknown", "调解员须为本案调解员 / not this case's "
                                  "mediator", 400, f"content.mediators.{i}.participant_id")

    async def comment(self, me: Principal, case_id: str, version: int, clause: str,
                      text: str) -> dict[str, Any]:
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_COMMENT, case_id)
        assert mine is not None
        agreement = await self.for_case(case.id)
        if not 1 <= version <= agreement.current_version:
            raise not_found("没有这个版本 / no such version")
        found = await self.repo.version(agreement.id, version)
        assert found is not None
        if not clause_exists(AgreementContent.model_validate(found.content), clause):
            raise bad_request("意见须针对协议中的一节或一项约定事项 / the clause is not a section or "
                              "a term of that version", "clause")
        row = await self.repo.add(AgreementComment(
            agreement_id=agreement.id, version=version, clause=clause, author_id=mine.id,
            author_role=mine.role, author_name=mine.name, text=text, created_at=self._clock()))
        await self.cases.audit(case.id, mine.id, "agreement_comment",
                               {"version": version, "clause": clause, "comment": row.id})
        return await self._changed(case.id, me)

    # --- signing -------------------------------------------------------------------------

    async def sign(self, me: Principal, case_id: str, body: SignBody, context: SigningContext
                   ) -> tuple[dict[str, Any], bool]:
        """The caller signs the current version with their own browser-held key. Returns the
        view and whether the signature is new: the very same signature sent again (the page's
        retry after a lost answer, a process killed mid-way) is recognised, not a second one,
        and finishes what the first attempt left undone (``_complete``)."""
        require(me, Action.AGREEMENT_SIGN)
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_SIGN, case_id)
        if mine is None:
            raise ParleyError("forbidden", "只能由本人签名 / only a signer may sign", 403)
        async with self._lock(case.id):
            agreement = await self.for_case(case.id)
            version = await self.current(agreement)
            content = AgreementContent.model_validate(version.content)
            live = await self.repo.signatures(agreement.id, version.number, live_only=True)
            earlier = next((s for s in live if s.signer_id == mine.id), None)
            recognised = (earlier is not None and body.version == version.number
                          and earlier.signature == body.signature)
            if recognised:
                await self._complete(case, agreement, version, content)
            else:
                self._refuse(agreement, version, content, mine, body)
                await self._confirm_identity(case, mine, me, body, context.ip)
                if earlier is not None:
                    await self._complete(case, agreement, version, content)
                    raise ParleyError("already_signed", "您已签署此版本 / you signed this version",
                                      409)
                await self._add_signature(case, agreement, version, content, mine, body,
                                          context)
        await self.push(case.id)
        return await self.view(me, case.id), not recognised

    @staticmethod
    def _refuse(agreement: Agreement, version: AgreementVersion, content: AgreementContent,
                mine: MediationParticipant, body: SignBody) -> None:
        """Why this version cannot take this signature, if it cannot (a ``ParleyError``)."""
        if agreement.status != "drafting" and body.version == version.number:
            raise ParleyError("agreement_effective", "协议已生效 / already in effect", 409)
        if body.version != version.number:
            raise ParleyError("version_stale", f"只能签署最新版本（第 {version.number} 版）/ "
                              f"only the current version {version.number} can be signed", 409)
        if body.sha256 != version.sha256:
            raise ParleyError("hash_mismatch", "签署内容与该版本不符 / the hash is not this "
                              "version's", 409, "sha256")
        if found := problems(content):
            raise ParleyError("agreement_invalid", "协议尚不完整：" + "; ".join(
                p.code for p in found) + " / the agreement is incomplete", 409)
        if esign_excluded(check(content)):
            raise ParleyError("esign_excluded", "涉及人身关系的协议须打印后手写签名 / "
                              "personal-status agreements are printed and signed by hand", 409)
        if mine.id not in required_signers(content):
            raise ParleyError("not_a_signer", "您不是本协议的签署人 / you do not sign this "
                              "agreement", 403)

    async def _add_signature(self, case: MediationCase, agreement: Agreement,
                             version: AgreementVersion, content: AgreementContent,
                             mine: MediationParticipant, body: SignBody,
                             context: SigningContext) -> None:
        """A verified new signature: its row, its timeline event, and the seal if it is the
        last. Each write is its own commit; the fault points between them are where a crash
        can leave the next ones undone, which ``_complete`` redoes."""
        try:
            key = public_key_from_jwk(body.public_key.model_dump(include={"kty", "crv", "x", "y"}))
            valid = verify(body.public_key.model_dump(), body.signature, version.sha256)
        except SignatureError as exc:
            raise ParleyError(exc.code, str(exc), 400) from None
        if not valid:
            await self.cases.audit(case.id, mine.id, "agreement_signature_refused",
                                   {"version": version.number})
            raise ParleyError("signature_invalid", "签名验证失败 / the signature does not verify "
                              "for this version", 400, "signature")
        await self.repo.add(AgreementSignature(
            agreement_id=agreement.id, version=version.number, sha256=version.sha256,
            signer_id=mine.id, signer_role=mine.role, signer_name=mine.name,
            algorithm=ALGORITHM, signature=body.signature,
            public_key=body.public_key.model_dump(include={"kty", "crv", "x", "y"}),
            public_key_spki=b64url(spki_der(key)), fingerprint=fingerprint(key),
            signed_at=self._clock(), ip=context.ip,
            user_agent=(context.user_agent or "")[:256] or None))
        self._faults.point("sign.after_signature")
        await self._signed_event(case.id, mine.id, version, fingerprint(key))
        self._faults.point("sign.after_timeline")
        await self._complete(case, agreement, version, content)

    async def _signed_event(self, case_id: str, signer_id: str, version: AgreementVersion,
                            key_fingerprint: str) -> None:
        await self.cases.audit(case_id, signer_id, "agreement_signed", {
            "version": version.number, "sha256": version.sha256, "fingerprint": key_fingerprint})

    async def _complete_if_signed(self, case: MediationCase, agreement: Agreement) -> bool:
        """A reader of a drafting agreement that everyone signed: a crash came between the last
        signature and the seal. Seal it now (under the lock, so once). Returns whether it did."""
        version = await self.current(agreement)
        content = AgreementContent.model_validate(version.content)
        live = await self.repo.signatures(agreement.id, version.number, live_only=True)
        if not set(required_signers(content)) <= {s.signer_id for s in live}:
            return False
        async with self._lock(case.id):
            fresh = await self.for_case(case.id)
            if fresh.status != "drafting" or fresh.current_version != version.number:
                return False
            await self._complete(case, fresh, version, content)
        return True

    async def _complete(self, case: MediationCase, agreement: Agreement,
                        version: AgreementVersion, content: AgreementContent) -> None:
        """Bring the version's timeline and seal up to its signature rows: every live signature
        has its ``agreement_signed`` event, and once all signed, the committee's seal, the
        effective time and its event, each exactly once. What a signing does after its row, and
        what a retry or a reader redoes after a crash left it half done (docs/deploy.md)."""
        live = await self.repo.signatures(agreement.id, version.number, live_only=True)
        events = [e for e in await self.cases.repo.events(case.id)
                  if e.data.get("version") == version.number]
        recorded = {(e.actor, e.data.get("fingerprint")) for e in events
                    if e.kind == "agreement_signed"}
        for s in live:
            if s.signer_id != COMMITTEE and (s.signer_id, s.fingerprint) not in recorded:
                await self._signed_event(case.id, s.signer_id, version, s.fingerprint)
        if not set(required_signers(content)) <= {s.signer_id for s in live}:
            return
        now = self._clock()
        if not any(s.signer_id == COMMITTEE for s in live):
            await self._seal(agreement, version, content, now)
            self._faults.point("sign.after_seal")
        if await self.repo.make_effective(agreement.id, version.number, now) or not any(
                e.kind == "agreement_effective" for e in events):
            effective_at = (await self.for_case(case.id)).effective_at or now
            await self.cases.audit(case.id, COMMITTEE, "agreement_effective", {
                "version": version.number, "sha256": version.sha256,
                "confirmation_deadline": application_deadline(effective_at).isoformat()})
            self._faults.point("sign.after_effective")

    async def _confirm_identity(self, case: MediationCase, mine: MediationParticipant,
                                me: Principal, body: SignBody, address: str | None) -> None:
        """Invitees confirm who they are again (name and ID digits) right before signing, and
        with the code sent to their phone when one is on file, all throttled and locked
        (``InviteeCredentials``); staff are identified by their password login."""
        if me.role is not Role.INVITEE:
            return
        if body.identity is None:
            raise ParleyError("identity_required", "签名前请确认身份 / confirm your identity",
                              400, "identity")
        credentials = self.cases.credentials
        await credentials.check_identity(case, mine, body.identity.name, body.identity.id_last4,
                                         address, "sign")
        await credentials.check_signing_code(case, mine, body.code, address)

    async def _seal(self, agreement: Agreement, version: AgreementVersion,
                    content: AgreementContent, now: datetime) -> None:
        """Every party and the mediator signed: the committee's seal."""
        await self.repo.add(AgreementSignature(
            agreement_id=agreement.id, version=version.number, sha256=version.sha256,
            signer_id=COMMITTEE, signer_role=COMMITTEE, signer_name=content.committee.name,
            algorithm=ALGORITHM, signature=self.seal.sign(version.sha256),
            public_key=self.seal.public_jwk,
            public_key_spki=b64url(spki_der(public_key_from_jwk(self.seal.public_jwk))),
            fingerprint=self.seal.fingerprint, signed_at=now, ip=None, user_agent=None))

    # --- the document --------------------------------------------------------------------

    async def pdf(self, me: Principal, case_id: str, number: int | None = None) -> bytes:
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_READ, case_id)
        agreement = await self.for_case(case.id)
        current = AgreementContent.model_validate((await self.current(agreement)).content)
        relation = reader_relation(_reader(me.role, mine), required_signers(current))
        return await self.pdf_of(agreement, number or agreement.current_version,
                                 masked=not sees_full(relation))

    async def pdf_of(self, agreement: Agreement, number: int, masked: bool = False) -> bytes:
        """The version as a PDF; ``masked``: the reader's copy with the parties' ID numbers,
        phones and addresses masked (docs/security.md, point 3)."""
        version = await self.repo.version(agreement.id, number)
        if version is None:
            raise not_found("没有这个版本 / no such version")
        signatures = await self.repo.signatures(agreement.id, number, live_only=True)
        effective_at = agreement.effective_at if number == agreement.current_version else None
        content = masked_content(version.content) if masked else version.content
        case = await self.cases.repo.case(agreement.case_id)
        return await asyncio.to_thread(
            render_pdf, AgreementContent.model_validate(content), case_id=agreement.case_id,
            version=number, sha256=version.sha256, signatures=signatures,
            effective_at=effective_at, case_number=case.case_number if case else None)

    # --- performance follow-up -----------------------------------------------------------

    async def record_performance(self, me: Principal, case_id: str, body: PerformanceBody
                                 ) -> dict[str, Any]:
        case, mine = await self.cases.resolve(me, Action.AGREEMENT_FOLLOW_UP, case_id)
        assert mine is not None
        agreement = await self.for_case(case.id)
        if agreement.status != "effective":
            raise invalid_state("协议尚未生效 / the agreement is not in effect")
        content = AgreementContent.model_validate((await self.current(agreement)).content)
        if not any(o.id == body.obligation_id for o in content.obligations):
            raise not_found("没有这项约定 / no such obligation")
        await self.repo.add(ObligationPerformance(
            agreement_id=agreement.id, obligation_id=body.obligation_id, status=body.status,
            performed_on=body.performed_on.isoformat() if body.performed_on else None,
            note=body.note, recorded_by=mine.id, recorded_at=self._clock()))
        await self.cases.audit(case.id, mine.id, "performance_recorded", {
            "obligation": body.obligation_id, "status": body.status})
        return await self._changed(case.id, me)

    async def overdue_figures(self, me: Principal) -> dict[str, Any]:
        """For supervisors: every overdue obligation of agreements in effect."""
        require(me, Action.AGREEMENT_OVERDUE)
        return await self.overdue_summary()

    async def overdue_summary(self) -> dict[str, Any]:
        """What ``signaling.hotline.supervision`` can add to the supervisor figures (no policy check:
        call it for supervisors only)."""
        agreements = await self.repo.effective()
        rows = await self.repo.performance([a.id for a in agreements])
        today = today_in_china(self._clock())
        items = []
        for agreement in agreements:
            content = AgreementContent.model_validate((await self.current(agreement)).content)
            mine = _records(r for r in rows if r.agreement_id == agreement.id)
            for o in overdue(content, mine, today):
                items.append({"case_id": agreement.case_id, "agreement_id": agreement.id,
                              **o.to_dict()})
        return {"overdue": len(items), "items": items}

    # --- plumbing ------------------------------------------------------------------------

    def _lock(self, case_id: str) -> asyncio.Lock:
        return self._locks.setdefault(case_id, asyncio.Lock())

    async def _changed(self, case_id: str, me: Principal) -> dict[str, Any]:
        await self.push(case_id)
        return await self.view(me, case_id)

    async def push(self, case_id: str) -> None:
        """Everyone in the case sees the change at once (staff see signing context too)."""
        agreement = await self.repo.for_case(case_id)
        if agreement is None:
            return
        views: dict[tuple[bool, Reader], dict[str, Any]] = {}
        for p in await self.cases.repo.participants(case_id):
            if p.revoked_at is not None:
                continue
            staff = p.user_id is not None
            reader = _reader(Role.MEDIATOR if p.role == "mediator" else
                             Role.CLERK if staff else Role.INVITEE, p)
            if (staff, reader) not in views:
                views[staff, reader] = await self.render(agreement, staff=staff, reader=reader)
            await self._notifier.emit("agreement:updated", views[staff, reader],
                                      participant_target(p))

    async def parties(self, case_id: str, content: AgreementContent
                      ) -> list[MediationParticipant]:
        wanted = set(party_signers(content))
        return [p for p in await self.cases.repo.participants(case_id) if p.id in wanted]


def _reader(role: Role, mine: MediationParticipant | None) -> Reader:
    return (role.value, mine.id if mine is not None else None)


def _records(rows: Any) -> list[PerformanceRecord]:
    return [PerformanceRecord(r.obligation_id, r.status,
                              date.fromisoformat(r.performed_on) if r.performed_on else None)
            for r in rows]
