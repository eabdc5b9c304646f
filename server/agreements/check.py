"""The confirmability check: what a court will not confirm, and what the Electronic Signature Law
keeps off the electronic path. Pure: content in, findings out.

Findings are warnings for the mediator and parties (the court decides), except
``esign_excluded``, whose severity ``blocking`` refuses the electronic signing path: documents on
marriage, adoption, inheritance and other personal-status relations are outside the Electronic
Signature Law (电子签名法 Art 3) and are printed and signed by hand.

Detection is deliberately cautious: what the mediator declared (``personal_status``, an
obligation's ``kind``) decides for sure, and words in the text that suggest the same raise the
same finding, so an undeclared divorce settlement still cannot be signed electronically.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.agreements.content import AgreementContent, ObligationKind

WARNING = "warning"
BLOCKING = "blocking"

# Personal-status words: marriage, adoption, parent-child (not confirmable by a court) ...
STATUS_WORDS = ("离婚", "结婚", "婚姻关系", "解除婚姻", "收养", "解除收养", "亲子关系", "父子关系",
                "母子关系", "母女关系", "父女关系", "确认亲子")
# ... and inheritance (electronic signature excluded, though a court may confirm the division).
INHERITANCE_WORDS = ("继承", "遗产", "遗嘱")
OWNERSHIP_WORDS = ("所有权归", "产权归", "确认所有权", "确认产权", "物权", "归属", "著作权",
                   "专利权", "商标权", "知识产权")
THIRD_PARTY_WORDS = ("第三人", "案外人", "他人财产", "抵押", "查封", "扣押", "共有", "担保物",
                     "债权人")
COURT_STATUS = frozenset({"marriage", "adoption", "parent_child"})


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "path": self.path,
                "message": self.message}


def _texts(content: AgreementContent) -> list[tuple[str, str]]:
    texts = [("facts", content.facts), ("issues", content.issues),
             ("responsibility", content.responsibility), ("other_terms", content.other_terms)]
    texts += [(f"obligations.{i}.act", o.act or "") for i, o in enumerate(content.obligations)]
    return texts


def _mentions(content: AgreementContent, words: tuple[str, ...]) -> str | None:
    """The path of the first text that contains one of ``words``."""
    for path, text in _texts(content):
        if any(word in text for word in words):
            return path
    return None


def check(content: AgreementContent) -> list[Finding]:
    """Findings in a stable order (see docs/agreements.md for every code)."""
    found: list[Finding] = []
    declared = set(content.personal_status)
    status_kinds = [i for i, o in enumerate(content.obligations) if o.kind is ObligationKind.STATUS]
    status_text = _mentions(content, STATUS_WORDS)
    if declared & COURT_STATUS or status_kinds or status_text:
        path = ("personal_status" if declared & COURT_STATUS
                else f"obligations.{status_kinds[0]}" if status_kinds else str(status_text))
        found.append(Finding(
            "status_relation", WARNING, path,
            "涉及婚姻、收养、亲子等身份关系，法院不予司法确认 / status relations (marriage, "
            "adoption, parent-child) are not confirmed by a court"))
    ownership = [i for i, o in enumerate(content.obligations)
                 if o.kind is ObligationKind.OWNERSHIP]
    ownership_text = _mentions(content, OWNERSHIP_WORDS)
    if ownership or ownership_text:
        found.append(Finding(
            "ownership_confirmation", WARNING,
            f"obligations.{ownership[0]}" if ownership else str(ownership_text),
            "确认物权或知识产权归属的，法院不予司法确认 / confirming ownership of real rights or "
            "IP is not accepted for judicial confirmation"))
    for i, o in enumerate(content.obligations):
        at = f"obligations.{i}"
        if o.kind in (ObligationKind.STATUS, ObligationKind.OWNERSHIP):
            continue
        if o.kind is ObligationKind.PAYMENT and not o.amount:
            found.append(Finding("obligation_amount_missing", WARNING, f"{at}.amount",
                                 "给付金额不明确 / the amount is missing"))
        if o.kind is not ObligationKind.PAYMENT and not (o.act or "").strip():
            found.append(Finding("obligation_act_missing", WARNING, f"{at}.act",
                                 "履行行为不明确 / the act to perform is missing"))
        if not (o.place or "").strip():
            found.append(Finding("obligation_place_missing", WARNING, f"{at}.place",
                                 "履行地点不明确 / the place of performance is missing"))
        if not (o.method or "").strip():
            found.append(Finding("obligation_method_missing", WARNING, f"{at}.method",
                                 "履行方式不明确 / the method of performance is missing"))
        if o.deadline is None:
            found.append(Finding("obligation_deadline_missing", WARNING, f"{at}.deadline",
                                 "履行期限不明确 / the deadline is missing"))
    third = _mentions(content, THIRD_PARTY_WORDS)
    if third:
        found.append(Finding(
            "third_party_interest", WARNING, third,
            "可能涉及第三人权益，法院将审查是否损害他人合法权益 / may affect a third party's "
            "rights; the court checks for harm to others"))
    inheritance = "inheritance" in declared or _mentions(content, INHERITANCE_WORDS)
    if declared or status_kinds or status_text or inheritance:
        found.append(Finding(
            "esign_excluded", BLOCKING, "personal_status",
            "涉及婚姻、收养、继承等人身关系的文书不适用电子签名，须打印后手写签名 / documents on "
            "marriage, adoption, inheritance and other personal-status relations are outside "
            "the Electronic Signature Law: print and sign by hand"))
    return found


def esign_excluded(findings: list[Finding]) -> bool:
    return any(f.code == "esign_excluded" for f in findings)
