"""The template-based SMS API Chinese providers speak (pure: building, signing, parsing).

Modelled on the widely used RPC style (Alibaba Cloud's ``SendSms``, version 2017-05-25): a form
POST with ``PhoneNumbers``, ``SignName`` (the registered sender signature, e.g. 【衢州市司法局】
without brackets), ``TemplateCode`` (a pre-approved template) and ``TemplateParam`` (its variables
as JSON), signed with HMAC-SHA1 over the sorted, percent-encoded parameters. The reply carries
``Code`` ("OK" or an error code) and ``BizId``; delivery reports arrive later at a callback as a
JSON list of ``{phone_number, biz_id, success, err_code, report_time}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

API_VERSION = "2017-05-25"
# Provider codes after which a retry cannot help (bad number, template or signature, opt-out).
PERMANENT_ERRORS = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.PARAM_LENGTH_LIMIT",
    "isv.INVALID_PARAMETERS",
})


def percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_request(*, key_id: str, secret: str, sign_name: str, template_code: str, phone: str,
                 params: Mapping[str, str], out_id: str, nonce: str, now: datetime) -> dict[str, str]:
    """The form fields of one SendSms call, signed."""
    fields = {
        "AccessKeyId": key_id, "Action": "SendSms", "Format": "JSON", "OutId": out_id,
        "PhoneNumbers": phone, "SignName": sign_name, "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce, "SignatureVersion": "1.0",
        "TemplateCode": template_code,
        "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": API_VERSION,
    }
    return {**fields, "Signature": signature(fields, secret)}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    biz_id: str | None
    code: str
    message: str

    @property
    def permanent(self) -> bool:
        return not self.ok and self.code in PERMANENT_ERRORS


def parse_send_reply(body: object) -> SendResult:
    if not isinstance(body, dict):
        return SendResult(False, None, "bad_reply", "reply is not a JSON object")
    code = str(body.get("Code", "bad_reply"))
    return SendResult(code == "OK", body.get("BizId"), code, str(body.get("Message", "")))


@dataclass(frozen=True)
class Report:
    biz_id: str
    phone: str
    delivered: bool
    err_code: str


def parse_reports(body: object) -> list[Report]:
    """Delivery reports from the callback; raises ValueError on a malformed one."""
    if not isinstance(body, list) or len(body) > 1000:
        raise ValueError("a delivery report callback is a JSON list of at most 1000 reports")
    out = []
    for row in body:
        if not isinstance(row, dict) or not isinstance(row.get("biz_id"), str):
            raise ValueError("each report needs a biz_id")
        out.append(Report(row["biz_id"][:64], str(row.get("phone_number", ""))[:16],
                          row.get("success") is True, str(row.get("err_code", ""))[:32]))
    return out


OPT_OUT_WORDS = frozenset({"TD", "T", "退订", "N", "0000"})


def is_opt_out(content: str) -> bool:
    """An upstream reply that asks for no more messages (退订)."""
    return content.strip().upper() in OPT_OUT_WORDS
