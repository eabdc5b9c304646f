"""The mediation agreement (人民调解协议书): its content, validation with stable codes, and the
canonical form every signature covers. Pure: no I/O.

Content follows 人民调解法 Art 29 (parties' basic details; main facts, disputed issues and each
side's responsibility; agreed terms with method and deadline of performance) plus the place of
performance (Ministry of Justice practice), the number of copies, the mediators and the committee.

A draft may be saved while incomplete (it is edited live); ``problems`` lists what must be fixed
before anyone may sign. Shape errors (wrong types, sizes, unknown fields) are refused at the edge.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from server.hashchain import canonical
from server.schemas import Edge

FORMAT = "parley-agreement/1"
CLAUSE_ID = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
REF_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
_AMOUNT = re.compile(r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", re.ASCII)  # ASCII digits only
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class ObligationKind(StrEnum):
    PAYMENT = "payment"          # pay money
    DELIVERY = "delivery"        # hand over a thing
    ACT = "act"                  # do something (repair, apologise, move out)
    FORBEARANCE = "forbearance"  # refrain from something
    STATUS = "status"            # change a personal-status relation (not confirmable)
    OWNERSHIP = "ownership"      # confirm who owns a real right or IP (not confirmable)


PersonalStatus = Literal["marriage", "adoption", "inheritance", "parent_child", "guardianship"]


class Party(Edge):
    """One party. A person: name, sex, birth date, ethnicity, ID, address, contact. An
    organisation: name, address, legal representative (and contact)."""

    id: str = CLAUSE_ID
    side: Literal["applicant", "respondent"]
    kind: PartyKind = PartyKind.PERSON
    name: str = Field(default="", max_length=100)
    sex: Literal["male", "female"] | None = None
    date_of_birth: date | None = None
    ethnicity: str | None = Field(default=None, max_length=16)
    id_type: Literal["resident_id", "passport", "other"] = "resident_id"
    id_number: str | None = Field(default=None, max_length=32)
    address: str = Field(default="", max_length=200)
    domicile_region: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    legal_representative: str | None = Field(default=None, max_length=50)
    # The mediation participant who signs for this party (their invitation).
    participant_id: str | None = REF_ID

    @field_validator("id_number")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class Obligation(Edge):
    """One agreed term: who owes what to whom, where, how and by when."""

    id: str = CLAUSE_ID
    obligor: str = Field(max_length=32)
    obligee: str = Field(max_length=32)
    kind: ObligationKind = ObligationKind.PAYMENT
    amount: str | None = Field(default=None, max_length=16)  # yuan, e.g. "5000.00"
    act: str | None = Field(default=None, max_length=1000)
    place: str | None = Field(default=None, max_length=200)
    method: str | None = Field(default=None, max_length=200)
    deadline: date | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str | None) -> str | None:
        """Decimal yuan as a string (never a float), normalised to two decimals."""
        if value is None or value == "":
            return None
        if not _AMOUNT.fullmatch(value):
            raise ValueError("金额须为数字（元），如 5000 或 5000.50 / amount must be yuan like 5000 "
                             "or 5000.50")
        whole, _, cents = value.partition(".")
        return f"{whole}.{cents.ljust(2, '0')}"


class MediatorRef(Edge):
    name: str = Field(default="", max_length=64)
    participant_id: str | None = REF_ID


class Committee(Edge):
    name: str = Field(default="", max_length=100)
    region: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)


class AgreementContent(Edge):
    """Everything the agreement says. ``personal_status``: the personal-status relations it
    touches, declared by the mediator (they decide the signing path and confirmability)."""

    category: str = Field(default="other", max_length=32)
    parties: list[Party] = Field(default_factory=list, max_length=8)
    facts: str = Field(default="", max_length=4000)
    issues: str = Field(default="", max_length=2000)
    responsibility: str = Field(default="", max_length=2000)
    obligations: list[Obligation] = Field(default_factory=list, max_length=40)
    other_terms: str = Field(default="", max_length=2000)
    copies: int = Field(default=3, ge=1, le=20)
    mediators: list[MediatorRef] = Field(default_factory=list, max_length=4)
    committee: Committee = Field(default_factory=Committee)
    personal_status: list[PersonalStatus] = Field(default_factory=list, max_length=5)
    subject_region: str | None = Field(default=None, max_length=32)
    inviting_court: str | None = Field(default=None, max_length=32)

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)

    def to_json(self) -> dict[str, Any]:
        plain: dict[str, Any] = self.model_dump(mode="json")
        return plain


@dataclass(frozen=True)
class Problem:
    """Something that must be fixed before signing. ``code`` is stable (docs/agreements.md)."""

    code: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


def id_number_valid(number: str) -> bool:
    """An 18-character resident ID: 17 digits, a GB 11643 (ISO 7064 MOD 11-2) check character."""
    # isdigit() alone takes '²' (int() then fails) and full-width digits (int() takes them).
    if len(number) != 18 or not (number[:17].isascii() and number[:17].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def _id_birth(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _party_problems(index: int, p: Party) -> list[Problem]:
    at = f"parties.{index}"
    found: list[Problem] = []

    def need(ok: object, code: str, field: str, message: str) -> None:
        if not ok:
            found.append(Problem(code, f"{at}.{field}", message))

    need(p.name.strip(), "party_name_missing", "name", "当事人姓名或名称必填 / name is required")
    need(p.address.strip(), "party_address_missing", "address", "住所必填 / address is required")
    need(p.phone, "party_contact_missing", "phone", "联系方式必填 / contact is required")
    need(p.participant_id, "party_signer_unlinked", "participant_id",
         "当事人未关联受邀参与人，无法电子签名 / the party is not linked to an invitee who signs")
    if p.kind is PartyKind.ORGANISATION:
        need(p.legal_representative, "party_representative_missing", "legal_representative",
             "单位须写明法定代表人 / an organisation needs its legal representative")
        return found
    need(p.sex, "party_sex_missing", "sex", "性别必填 / sex is required")
    need(p.date_of_birth, "party_birth_missing", "date_of_birth", "出生日期必填 / date of birth")
    need(p.ethnicity, "party_ethnicity_missing", "ethnicity", "民族必填 / ethnicity is required")
    need(p.id_number, "party_id_missing", "id_number", "身份证件号码必填 / ID number is required")
    if p.id_number and p.id_type == "resident_id":
        if not id_number_valid(p.id_number):
            found.append(Problem("party_id_invalid", f"{at}.id_number",
                                 "居民身份证号码校验不通过 / not a valid resident ID number"))
        else:
            if p.date_of_birth and _id_birth(p.id_number) != p.date_of_birth:
                found.append(Problem("party_id_birth_mismatch", f"{at}.date_of_birth",
                                     "出生日期与身份证号不符 / birth date differs from the ID"))
            male = int(p.id_number[16]) % 2 == 1
            if p.sex and (p.sex == "male") != male:
                found.append(Problem("party_id_sex_mismatch", f"{at}.sex",
                                     "性别与身份证号不符 / sex differs from the ID number"))
    return found


def problems(content: AgreementContent) -> list[Problem]:
    """Everything that must be fixed before the agreement can be signed, in document order."""
    found: list[Problem] = []
    sides = {p.side for p in content.parties}
    if sides != {"applicant", "respondent"}:
        found.append(Problem("parties_incomplete", "parties",
                             "至少需要一方申请人和一方被申请人 / an applicant and a respondent"))
    ids = [p.id for p in content.parties]
    if len(set(ids)) != len(ids):
        found.append(Problem("party_duplicate", "parties", "当事人编号重复 / duplicate party id"))
    for index, party in enumerate(content.parties):
        found += _party_problems(index, party)
    for field, code, label in (("facts", "facts_missing", "主要事实 / main facts"),
                               ("issues", "issues_missing", "争议事项 / disputed issues"),
                               ("responsibility", "responsibility_missing",
                                "各方责任 / each side's responsibility")):
        if not getattr(content, field).strip():
            found.append(Problem(code, field, f"{label} 必填 / is required"))
    if not content.obligations:
        found.append(Problem("obligations_missing", "obligations",
                             "协议须有约定事项 / the agreement needs at least one agreed term"))
    clause_ids = [o.id for o in content.obligations]
    if len(set(clause_ids)) != len(clause_ids):
        found.append(Problem("obligation_duplicate", "obligations", "条款编号重复 / duplicate id"))
    for index, o in enumerate(content.obligations):
        at = f"obligations.{index}"
        if content.party(o.obligor) is None:
            found.append(Problem("obligation_obligor_unknown", f"{at}.obligor",
                                 "义务人须为当事人 / the obligor must be a party"))
        if content.party(o.obligee) is None:
            found.append(Problem("obligation_obligee_unknown", f"{at}.obligee",
                                 "权利人须为当事人 / the obligee must be a party"))
        elif o.obligee == o.obligor:
            found.append(Problem("obligation_self", f"{at}.obligee",
                                 "义务人与权利人相同 / obligor and obligee are the same"))
    # Each party keeps one copy and the committee one (人民调解法 Art 29).
    if content.copies < len(content.parties) + 1:
        found.append(Problem("copies_too_few", "copies",
                             "份数应不少于当事人数加一 / one copy per party plus the committee's"))
    if not content.mediators or not all(m.name.strip() for m in content.mediators):
        found.append(Problem("mediator_missing", "mediators", "须写明调解员 / name the mediator"))
    elif not any(m.participant_id for m in content.mediators):
        found.append(Problem("mediator_signer_unlinked", "mediators",
                             "调解员须能电子签名 / a mediator must be linked to sign"))
    if not content.committee.name.strip():
        found.append(Problem("committee_missing", "committee.name",
                             "须写明人民调解委员会 / name the mediation committee"))
    return found


SECTION_CLAUSES = frozenset({"parties", "facts", "issues", "responsibility", "other_terms"})


def clause_exists(content: AgreementContent, clause: str) -> bool:
    """Whether a comment's ``clause`` names a section (``facts``), a term by its id
    (``term.o1``) or, as comments before the structured editor did, by its place
    (``obligations.0``)."""
    if clause in SECTION_CLAUSES:
        return True
    kind, _, rest = clause.partition(".")
    if kind == "term":
        return any(o.id == rest for o in content.obligations)
    if kind == "obligations" and rest.isascii() and rest.isdigit():
        return int(rest) < len(content.obligations)
    return False


def required_signers(content: AgreementContent) -> list[str]:
    """Participant IDs who must sign: every party, then the mediators (in document order)."""
    signers = [p.participant_id for p in content.parties if p.participant_id]
    signers += [m.participant_id for m in content.mediators if m.participant_id]
    return list(dict.fromkeys(signers))


def party_signers(content: AgreementContent) -> list[str]:
    return [p.participant_id for p in content.parties if p.participant_id]


# --- the canonical form -------------------------------------------------------------------

def canonical_document(agreement_id: str, case_id: str, version: int,
                       content: AgreementContent) -> dict[str, Any]:
    """What a version *is*: format, agreement, case, version number and content."""
    return {"format": FORMAT, "agreement_id": agreement_id, "case_id": case_id,
            "version": version, "content": content.to_json()}


def canonical_text(document: dict[str, Any]) -> str:
    """JSON with keys sorted at every level, no whitespace, non-ASCII as itself (UTF-8).
    Contains no floats (amounts are decimal strings), so every implementation agrees."""
    return canonical(document).decode()


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of ``text``: the digest signatures cover."""
    return hashlib.sha256(text.encode()).hexdigest()
