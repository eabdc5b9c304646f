"""Personal data by role (个人信息保护法: mask wherever a role does not need it): one pure masking
function per kind of datum, and the one rule that says who sees a person's data in full.

View builders call these (``signaling/*/views.py``, the REST serialisers); templates and pages
never mask, they show what the view gave them (docs/security.md, "3. Personal data by role").

- ID numbers keep their first two characters (the province) and nothing else: the last four
  are the answer to the invitee identity check (``server.mediation.identity``), so a masked
  ID must never show them.
- Phone numbers keep the first three and last four digits (138****8000), as Chinese services
  show them; anything not a mainland mobile number becomes ``****``.
- Addresses keep their first six characters (province and city, usually) and mask the rest.
"""

from __future__ import annotations

from enum import StrEnum

MASK = "*"


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    return value[:2] + MASK * max(len(value) - 2, 4)


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    digits = value.strip()
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 and digits.isdigit() else "****"


def mask_address(value: str | None) -> str | None:
    if not value:
        return value
    keep = value[:6]
    return keep + MASK * 4 if len(value) > 6 else MASK * 4


class Relation(StrEnum):
    """How the viewer stands to the person whose data it is."""

    SELF = "self"                    # their own data
    CASE_MEDIATOR = "case_mediator"  # the mediator of the case (serves the papers, calls)
    SIGNER = "signer"                # a party reading the agreement text they sign
    CLERK = "clerk"                  # the court, in the judicial-confirmation package
    SUPERVISOR = "supervisor"        # oversight: numbers and states, not identities
    OTHER = "other"                  # the other side, observers, experts, everyone else


#: Who sees a person's ID number, phone and address in full. A supervisor does not: their
#: work (queues, service levels, escalations, accounts) needs no one's identity, and the full
#: record stays reachable through the case's mediator and the court's package.
FULL = frozenset({Relation.SELF, Relation.CASE_MEDIATOR, Relation.SIGNER, Relation.CLERK})


def sees_full(relation: Relation) -> bool:
    return relation in FULL
