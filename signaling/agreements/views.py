"""What clients see of agreements, signatures, applications and decisions (serialisation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.agreements.check import Finding
from server.agreements.content import AgreementContent, Problem, party_signers, required_signers
from server.agreements.followup import Overdue
from server.agreements.models import (
    Agreement,
    AgreementComment,
    AgreementSignature,
    AgreementVersion,
    ConfirmationApplication,
    ObligationPerformance,
    ServiceReceipt,
)
from server.court.rules import application_deadline, court, court_deadlines


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def signature_view(s: AgreementSignature, *, staff: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "signer_id": s.signer_id, "role": s.signer_role, "name": s.signer_name,
        "version": s.version, "sha256": s.sha256, "algorithm": s.algorithm,
        "fingerprint": s.fingerprint, "signed_at": iso(s.signed_at),
        "voided_at": iso(s.voided_at)}
    if staff:
        view["context"] = {"ip": s.ip, "user_agent": s.user_agent}
    return view


def application_view(a: ConfirmationApplication,
                     receipts: Sequence[ServiceReceipt] = ()) -> dict[str, Any]:
    found = court(a.court_code)
    view: dict[str, Any] = {
        "id": a.id, "case_id": a.case_id, "agreement_id": a.agreement_id, "version": a.version,
        "court": found.to_dict() if found else {"code": a.court_code},
        "status": a.status, "proposed_by": a.proposed_by, "created_at": iso(a.created_at),
        "deadline_at": iso(a.deadline_at), "confirmations": dict(a.confirmations),
        "submitted_at": iso(a.submitted_at), "package_sha256": a.package_sha256,
        "package_head": a.package_head, "session_at": iso(a.session_at),
        "session_record": a.session_record, "session_room": a.session_room,
        "decision": ({"decision": a.decision, "ground": a.ground, "reasons": a.reasons,
                      "decided_at": iso(a.decided_at)} if a.decision else None),
        "receipts": [receipt_view(r) for r in receipts],
    }
    if a.submitted_at is not None:
        view["court_deadlines"] = {k: iso(v) for k, v in court_deadlines(a.submitted_at,
                                                                           None).items()}
    return view


def receipt_view(r: ServiceReceipt) -> dict[str, Any]:
    return {"recipient_id": r.recipient_id, "recipient_name": r.recipient_name,
            "document_sha256": r.document_sha256, "sent_at": iso(r.sent_at),
            "delivered_at": iso(r.delivered_at)}


def agreement_view(agreement: Agreement, version: AgreementVersion, content: AgreementContent,
                   problems: Sequence[Problem], findings: Sequence[Finding], *,
                   signatures: Sequence[AgreementSignature],
                   versions: Sequence[AgreementVersion], comments: Sequence[AgreementComment],
                   applications: Sequence[ConfirmationApplication], overdue: Sequence[Overdue],
                   performance: Sequence[ObligationPerformance], staff: bool,
                   seal_fingerprint: str) -> dict[str, Any]:
    """The agreement as a participant sees it: the current version (with its exact canonical
    text and hash, which is what a signer signs), who must sign and who has, the checks, the
    history, comments, the confirmation window and applications, and the follow-up."""
    live = [s for s in signatures if s.version == version.number and s.voided_at is None]
    signed = {s.signer_id for s in live}
    deadline = application_deadline(agreement.effective_at) if agreement.effective_at else None
    return {
        "agreement": {
            "id": agreement.id, "case_id": agreement.case_id, "status": agreement.status,
            "effective_at": iso(agreement.effective_at),
            "confirmation_deadline": iso(deadline),
        },
        "version": {"number": version.number, "sha256": version.sha256,
                    "canonical": version.canonical, "author": version.author_name,
                    "author_id": version.author_id, "created_at": iso(version.created_at),
                    "content": version.content},
        "signers": [{"participant_id": pid, "signed": pid in signed,
                     "party": pid in party_signers(content)}
                    for pid in required_signers(content)],
        "signatures": [signature_view(s, staff=staff) for s in signatures],
        "problems": [p.to_dict() for p in problems],
        "findings": [f.to_dict() for f in findings],
        "esign_allowed": not any(f.code == "esign_excluded" for f in findings),
        "versions": [{"number": v.number, "sha256": v.sha256, "author": v.author_name,
                      "created_at": iso(v.created_at)} for v in versions],
        "comments": [{"id": c.id, "version": c.version, "clause": c.clause,
                      "author": c.author_name, "author_role": c.author_role,
                      "author_id": c.author_id, "text": c.text, "at": iso(c.created_at)}
                     for c in comments],
        "applications": [application_view(a) for a in applications],
        "overdue": [o.to_dict() for o in overdue],
        "performance": [{"obligation_id": r.obligation_id, "status": r.status,
                         "performed_on": r.performed_on, "note": r.note,
                         "at": iso(r.recorded_at)} for r in performance
                        if r.agreement_id == agreement.id],
        "seal_fingerprint": seal_fingerprint,
    }
