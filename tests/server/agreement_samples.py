"""Sample agreement content and browser-like signers for the agreement tests."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from server.agreements.content import AgreementContent
from server.agreements.signing import jwk_of, sign_with

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """A valid 18-character resident ID from its first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


APPLICANT_ID = resident_id("36070219850315001")  # born 1985-03-15, 17th digit 1: male
RESPONDENT_ID = resident_id("36070219900720002")  # born 1990-07-20, 17th digit 2: female


def content_dict(applicant: str | None = "pa", respondent: str | None = "pr",
                 mediator: str | None = "pm", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "neighbour",
        "parties": [
            {"id": "a1", "side": "applicant", "name": "张三", "sex": "male",
             "date_of_birth": "1985-03-15", "ethnicity": "汉族", "id_number": APPLICANT_ID,
             "address": "衢州市柯城区红旗大道1号", "domicile_region": "qz-kecheng",
             "phone": "13800138000", "participant_id": applicant},
            {"id": "r1", "side": "respondent", "name": "李四", "sex": "female",
             "date_of_birth": "1990-07-20", "ethnicity": "汉族", "id_number": RESPONDENT_ID,
             "address": "衢州市衢江区蓉江路2号", "domicile_region": "qz-qujiang",
             "phone": "13900139000", "participant_id": respondent},
        ],
        "facts": "李四家卫生间漏水，致张三家天花板受损。",
        "issues": "赔偿金额及维修责任。",
        "responsibility": "李四承担全部责任。",
        "obligations": [
            {"id": "o1", "obligor": "r1", "obligee": "a1", "kind": "payment", "amount": "5000",
             "place": "衢州市柯城区人民调解委员会", "method": "银行转账", "deadline": "2026-12-31"},
            {"id": "o2", "obligor": "r1", "obligee": "a1", "kind": "act",
             "act": "修复卫生间防水层", "place": "李四住所", "method": "自行委托施工",
             "deadline": "2026-12-15"},
        ],
        "copies": 3,
        "mediators": [{"name": "王调解", "participant_id": mediator}],
        "committee": {"name": "衢州市柯城区人民调解委员会", "region": "qz-kecheng"},
    }
    body.update(overrides)
    return body


def content(**overrides: Any) -> AgreementContent:
    return AgreementContent.model_validate(content_dict(**overrides))


class Signer:
    """What a browser does: a P-256 key pair; signs the 32 digest bytes with ECDSA SHA-256."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = {**jwk_of(self.key.public_key()), "ext": True, "key_ops": ["verify"]}

    def sign(self, digest_hex: str) -> str:
        return sign_with(self.key, digest_hex)
