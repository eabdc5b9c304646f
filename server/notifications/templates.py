"""The message templates, as an SMS provider registers them: a code, the text with ``${name}``
variables, and the variables it takes. Only these may be sent (docs/security.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template as _Text


@dataclass(frozen=True)
class Template:
    code: str
    text: str
    params: frozenset[str]


SIGNATURE = "【人民调解】"
TEMPLATES: dict[str, Template] = {t.code: t for t in (
    Template("mediation_invitation",
             SIGNATURE + "您被邀请参加调解（案件${case}）。邀请码${code}，仅可使用一次，"
             "请在 ${link} 输入。", frozenset({"case", "code", "link"})),
    Template("signing_code",
             SIGNATURE + "您正在签署调解协议（案件${case}），验证码${code}，${minutes}分钟内有效。"
             "请勿告诉任何人，包括调解员。", frozenset({"case", "code", "minutes"})),
    # The one window (docs/one-window.md): the other party of a mediation application, and a
    # citizen signing in by phone.
    Template("mediation_application_invite",
             SIGNATURE + "${applicant}申请人民调解（${number}），请在 ${link} 查看并答复是否同意调解。",
             frozenset({"applicant", "number", "link"})),
    # A mediation or legal-aid application filed from the 12348 phone menu.
    Template("phone_application_filed",
             SIGNATURE + "您通过12348热线申请的${service}已登记，编号${number}。请在 ${link} 用本机号码"
             "登录，补充：${missing}。", frozenset({"service", "number", "missing", "link"})),
    Template("citizen_sign_in_code",
             SIGNATURE + "您的登录验证码${code}，${minutes}分钟内有效。请勿告诉任何人。",
             frozenset({"code", "minutes"})),
)}


def render(template: str, params: Mapping[str, str]) -> str:
    """The text as the recipient reads it; ``KeyError``/``ValueError`` for an unknown template
    or parameters that are not exactly its variables."""
    found = TEMPLATES[template]
    if set(params) != found.params:
        raise ValueError(f"template {template} takes {sorted(found.params)}, got {sorted(params)}")
    return _Text(found.text).substitute(params)
