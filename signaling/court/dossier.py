"""What the court clerk reads before deciding (issue 19.4): the agreement itself in readable
form — the parties (ID numbers masked: the full numbers are in the package), every term with
the obligor and obligee by name, each signature with whether it verifies against the version
the parties applied on, and a summary of the mediation record. Pure: the caller loads the rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.agreements.content import AgreementContent
from server.agreements.models import AgreementSignature, AgreementVersion
from server.agreements.signing import verify
from server.mediation.models import MediationCase, MediationEvent
from signaling.agreements.views import iso


def mask_id_number(number: str | None) -> str | None:
    """The court's view keeps the last four characters, to match a party's documents."""
    return None if number is None else number[:4] + "*" * (len(number) - 8) + number[-4:]

def signature_state(s: AgreementSignature, version: AgreementVersion) -> str:
    """"valid", "voided", "other_version" (signed a text other than the one applied on) or
    "invalid" (the signature does not verify with the key it came with)."""
    if s.voided_at is not None:
        return "voided"
    if s.version != version.number or s.sha256 != version.sha256:
        return "other_version"
    try:
        return "valid" if verify(s.public_key, s.signature, version.sha256) else "invalid"
    except (ValueError, KeyError, TypeError):
        return "invalid"


def dossier(content: AgreementContent, version: AgreementVersion,
            signatures: Sequence[AgreementSignature], case: MediationCase | None,
            events: Sequence[MediationEvent]) -> dict[str, Any]:
    names = {p.id: p.name for p in content.parties}
    return {
        "parties": [{"id": p.id, "side": p.side, "kind": p.kind.value, "name": p.name,
                     "id_type": p.id_type, "id_number": mask_id_number(p.id_number),
                     "legal_representative": p.legal_representative}
                    for p in content.parties],
        "facts": content.facts, "issues": content.issues,
        "responsibility": content.responsibility, "other_terms": content.other_terms,
        "terms": [{"id": o.id, "kind": o.kind.value,
                   "obligor": names.get(o.obligor, o.obligor),
                   "obligee": names.get(o.obligee, o.obligee),
                   "amount": o.amount, "act": o.act, "place": o.place, "method": o.method,
                   "deadline": o.deadline.isoformat() if o.deadline else None}
                  for o in content.obligations],
        "signatures": [{"name": s.signer_name, "role": s.signer_role,
                        "signed_at": iso(s.signed_at), "state": signature_state(s, version)}
                       for s in signatures if s.version == version.number],
        "record": {
            "case_number": case.case_number if case else None,
            "category": case.category if case else content.category,
            "committee": content.committee.name,
            "mediators": [m.name for m in content.mediators],
            "accepted_at": iso(case.accepted_at) if case else None,
            "closed_at": iso(case.closed_at) if case else None,
            "events": len(events),
            "sessions": sum(1 for e in events if e.kind == "session_opened"),
            "first_at": iso(events[0].at) if events else None,
            "last_at": iso(events[-1].at) if events else None,
        },
    }
