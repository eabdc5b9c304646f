"""The agreement's pure core: validation codes, the confirmability check, the canonical form,
signatures, the court-choice and deadline rules, and overdue obligations."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from server.agreements.check import check, esign_excluded
from server.agreements.content import (
    AgreementContent,
    canonical_document,
    canonical_text,
    id_number_valid,
    problems,
    required_signers,
    sha256_hex,
)
from server.agreements.followup import PerformanceRecord, overdue, performed_late
from server.agreements.signing import SealKey, SignatureError, public_key_from_jwk, verify
from server.court.rules import (
    application_deadline,
    competent_courts,
    days_left,
    due_reminders,
    may_apply,
)
from tests.server.agreement_samples import APPLICANT_ID, Signer, content, content_dict


def codes(c: AgreementContent) -> list[str]:
    return [p.code for p in problems(c)]


def finding_codes(c: AgreementContent) -> list[str]:
    return [f.code for f in check(c)]


def test_a_complete_agreement_has_no_problems_and_no_findings() -> None:
    c = content()
    assert problems(c) == []
    assert check(c) == []
    assert required_signers(c) == ["pa", "pr", "pm"]


def test_validation_codes_are_stable() -> None:
    raw = content_dict(facts=" ", copies=2)
    raw["parties"][0].update(name="", sex="female", ethnicity=None, phone=None)
    raw["parties"][1].update(id_number="360702199007200021", participant_id=None)
    raw["obligations"][0]["obligor"] = "x9"
    raw["obligations"][1]["obligee"] = "r1"
    raw["mediators"] = []
    raw["committee"] = {"name": ""}
    assert codes(AgreementContent.model_validate(raw)) == [
        "party_name_missing", "party_contact_missing", "party_ethnicity_missing",
        "party_id_sex_mismatch", "party_signer_unlinked", "party_id_invalid", "facts_missing",
        "obligation_obligor_unknown", "obligation_self", "copies_too_few", "mediator_missing",
        "committee_missing"]


def test_parties_organisation_and_birth_date() -> None:
    raw = content_dict()
    raw["parties"][0]["date_of_birth"] = "1985-03-16"
    raw["parties"][1] = {"id": "r1", "side": "respondent", "kind": "organisation",
                         "name": "某物业公司", "address": "柯城区", "phone": "13900139000",
                         "participant_id": "pr"}
    assert codes(AgreementContent.model_validate(raw)) == [
        "party_id_birth_mismatch", "party_representative_missing"]
    alone = codes(content(parties=[content_dict()["parties"][0]], copies=2))
    assert alone == ["parties_incomplete", "obligation_obligor_unknown",
                     "obligation_obligor_unknown"]


def test_edge_refuses_bad_shapes() -> None:
    with pytest.raises(ValidationError):
        content(copies=0)
    raw = content_dict()
    raw["obligations"][0]["amount"] = "5,000"
    with pytest.raises(ValidationError):
        AgreementContent.model_validate(raw)
    raw["obligations"][0]["amount"] = 5000.5
    with pytest.raises(ValidationError):
        AgreementContent.model_validate(raw)
    with pytest.raises(ValidationError):
        AgreementContent.model_validate({**content_dict(), "surprise": 1})


def test_resident_id_check_character() -> None:
    assert id_number_valid(APPLICANT_ID)
    assert not id_number_valid(APPLICANT_ID[:17] + ("0" if APPLICANT_ID[17] != "0" else "1"))
    assert id_number_valid("11010519491231002X")


def test_confirmability_warnings() -> None:
    raw = content_dict(facts="双方协商离婚后财产分割，涉及案外人抵押的房屋")
    raw["obligations"][0].update(place=None, method="", deadline=None, amount=None)
    raw["obligations"][1].update(kind="ownership", act="确认房屋所有权归张三")
    raw["obligations"].append({"id": "o3", "obligor": "a1", "obligee": "r1", "kind": "act"})
    found = check(AgreementContent.model_validate(raw))
    assert [f.code for f in found] == [
        "status_relation", "ownership_confirmation", "obligation_amount_missing",
        "obligation_place_missing", "obligation_method_missing", "obligation_deadline_missing",
        "obligation_act_missing", "obligation_place_missing", "obligation_method_missing",
        "obligation_deadline_missing", "third_party_interest", "esign_excluded"]
    assert {f.severity for f in found if f.code != "esign_excluded"} == {"warning"}
    assert esign_excluded(found)


@pytest.mark.parametrize("overrides, excluded, status", [
    ({"personal_status": ["adoption"]}, True, True),
    ({"personal_status": ["inheritance"]}, True, False),
    ({"facts": "兄弟二人就父亲遗产分配发生纠纷"}, True, False),
    ({"facts": "双方解除收养关系"}, True, True),
    ({}, False, False),
])
def test_personal_status_leaves_the_electronic_path(overrides: dict[str, object], excluded: bool,
                                                    status: bool) -> None:
    found = finding_codes(content(**overrides))
    assert ("esign_excluded" in found) is excluded
    assert ("status_relation" in found) is status


def test_canonical_form_is_exact() -> None:
    c = content()
    document = canonical_document("ag1", "case1", 2, c)
    text = canonical_text(document)
    assert text.startswith('{"agreement_id":"ag1","case_id":"case1","content":{"category":')
    assert ", " not in text and ": " not in text and "张三" in text
    assert json.loads(text) == document
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert sha256_hex(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert '"amount":"5000.00"' in text
    other = canonical_text(canonical_document("ag1", "case1", 3, c))
    assert sha256_hex(other) != sha256_hex(text)


def test_signatures_verify_only_for_their_key_and_digest(tmp_path: object) -> None:
    text = canonical_text(canonical_document("ag1", "case1", 1, content()))
    digest = sha256_hex(text)
    other = sha256_hex(canonical_text(canonical_document("ag1", "case1", 2, content())))
    signer, forger = Signer(), Signer()
    signature = signer.sign(digest)
    assert verify(signer.jwk, signature, digest)
    assert not verify(signer.jwk, signature, other)            # another version
    assert not verify(forger.jwk, signature, digest)           # someone else's key
    assert not verify(signer.jwk, forger.sign(digest), digest)  # forged by another key
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not verify(signer.jwk, flipped, digest)
    with pytest.raises(SignatureError):
        public_key_from_jwk({**signer.jwk, "crv": "P-384"})
    with pytest.raises(SignatureError):
        public_key_from_jwk({**signer.jwk, "d": "secret"})
    from pathlib import Path

    seal = SealKey.load_or_create(Path(str(tmp_path)))
    again = SealKey.load_or_create(Path(str(tmp_path)))
    assert seal.fingerprint == again.fingerprint
    assert verify(seal.public_jwk, again.sign(digest), digest)
    assert (Path(str(tmp_path)) / "committee_seal_key.pem").stat().st_mode & 0o077 == 0


def test_competent_courts() -> None:
    assert [c.court.code for c in competent_courts(
        inviting_court="qz-jiangshan-court", party_regions=["qz-kecheng"],
        subject_region=None, committee_region="qz-kecheng")] == ["qz-jiangshan-court"]
    found = competent_courts(inviting_court=None, party_regions=["qz-kecheng", "qz-qujiang"],
                             subject_region="qz-kecheng", committee_region="qz-longyou")
    assert [(c.court.code, c.grounds) for c in found] == [
        ("qz-kecheng-court", ("party_domicile", "subject_matter")),
        ("qz-qujiang-court", ("party_domicile",)),
        ("qz-longyou-court", ("committee",))]
    assert competent_courts(inviting_court=None, party_regions=[None, "nowhere"],
                            subject_region=None, committee_region=None) == []


def test_thirty_day_window_and_reminders() -> None:
    effective = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert application_deadline(effective) == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    assert may_apply(effective, effective + timedelta(days=30))
    assert not may_apply(effective, effective + timedelta(days=30, seconds=1))
    assert days_left(effective, effective) == 30
    assert days_left(effective, effective + timedelta(seconds=1)) == 30
    assert days_left(effective, effective + timedelta(days=29, hours=23)) == 1
    assert days_left(effective, effective + timedelta(days=31)) < 0
    assert due_reminders(effective, effective + timedelta(days=9), []) == []
    assert due_reminders(effective, effective + timedelta(days=10), []) == [20]
    assert due_reminders(effective, effective + timedelta(days=23), [20]) == [7]
    assert due_reminders(effective, effective + timedelta(days=29, hours=1), [20]) == [7, 1]
    assert due_reminders(effective, effective + timedelta(days=31), []) == []


def test_overdue_obligations() -> None:
    c = content()
    records = [PerformanceRecord("o2", "performed", date(2026, 12, 20)),
               PerformanceRecord("o1", "partly", None)]
    assert overdue(c, records, date(2026, 12, 31)) == []  # o1 due that day, o2 performed
    late = overdue(c, records, date(2027, 1, 2))
    assert [(o.obligation_id, o.status, o.days_overdue) for o in late] == [("o1", "partly", 2)]
    assert performed_late(c, records) == 1
    assert [o.obligation_id for o in overdue(c, [], date(2026, 12, 16))] == ["o2"]
