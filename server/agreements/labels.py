"""Where in an agreement a refused field is, in the words of the page (zh-CN): a save the edge
refuses (wrong shape: an amount of "4000元", a date that is not one) names the party or the
term and the field, e.g. "第 1 项约定事项（李四）的金额：金额须为数字，如 5000 或 5000.50",
never "提交的信息有误". Pure: a pydantic error and the submitted data in, a ParleyError out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.errors import ParleyError, bad_request

FIELDS = {
    "side": "身份", "kind": "类型", "name": "姓名或名称", "sex": "性别", "date_of_birth": "出生日期",
    "ethnicity": "民族", "id_type": "证件类型", "id_number": "身份证件号码", "address": "住所",
    "domicile_region": "住所地", "phone": "联系方式", "legal_representative": "法定代表人",
    "participant_id": "签名人", "obligor": "义务人", "obligee": "权利人", "amount": "金额",
    "act": "履行内容", "place": "履行地点", "method": "履行方式", "deadline": "履行期限",
    "facts": "纠纷主要事实", "issues": "争议事项", "responsibility": "各方责任",
    "other_terms": "其他事项", "copies": "协议份数", "category": "纠纷类别", "mediators": "调解员",
    "committee": "人民调解委员会", "personal_status": "涉及的身份关系", "parties": "当事人",
    "obligations": "约定事项", "id": "编号",
}
SIDES = {"applicant": "申请人", "respondent": "被申请人"}
# pydantic's error types, in words (its own messages are English).
TYPES = {
    "missing": "必填", "string_too_long": "内容过长", "string_too_short": "不能为空",
    "too_long": "项数过多", "literal_error": "不是可选的值", "enum": "不是可选的值",
    "date_from_datetime_parsing": "日期格式不正确", "date_parsing": "日期格式不正确",
    "date_type": "日期格式不正确", "int_parsing": "须为整数", "int_type": "须为整数",
    "greater_than_equal": "数值过小", "less_than_equal": "数值过大", "string_type": "须为文字",
    "string_pattern_mismatch": "格式不正确", "extra_forbidden": "不是协议的内容",
    "list_type": "格式不正确", "model_type": "格式不正确", "dict_type": "格式不正确",
}


def _item(items: Any, index: int) -> dict[str, Any]:
    item = items[index] if isinstance(items, list) and 0 <= index < len(items) else None
    return dict(item) if isinstance(item, dict) else {}


def _party_name(content: dict[str, Any], party_id: Any) -> str:
    for party in content.get("parties") or []:
        if isinstance(party, dict) and party.get("id") == party_id:
            return str(party.get("name") or "")
    return ""


def label(path: list[str | int], content: Any) -> str:
    """The words for ``path`` inside the agreement content ``content`` (as submitted)."""
    content = content if isinstance(content, dict) else {}
    if len(path) >= 2 and path[0] == "parties" and isinstance(path[1], int):
        party = _item(content.get("parties"), path[1])
        who = SIDES.get(str(party.get("side")), "当事人")
        name = str(party.get("name") or "").strip() or f"第 {path[1] + 1} 位"
        field = FIELDS.get(str(path[2]), str(path[2])) if len(path) > 2 else ""
        return f"{who}{name}的{field}" if field else f"{who}{name}"
    if len(path) >= 2 and path[0] == "obligations" and isinstance(path[1], int):
        term = _item(content.get("obligations"), path[1])
        obligor = _party_name(content, term.get("obligor"))
        head = f"第 {path[1] + 1} 项约定事项" + (f"（{obligor}）" if obligor else "")
        field = FIELDS.get(str(path[2]), str(path[2])) if len(path) > 2 else ""
        return f"{head}的{field}" if field else head
    return "的".join(FIELDS.get(str(part), str(part)) for part in path if not isinstance(part, int))


def refused(error: Mapping[str, Any], data: dict[str, Any]) -> ParleyError:
    """The edge's refusal of one pydantic ``error`` of a save body ``data``: a zh-CN message
    naming the field, and ``field`` the dotted path (``content.obligations.0.amount``)."""
    loc = list(error.get("loc") or ())
    field = ".".join(str(part) for part in loc) or None
    # Our own validators' words (value_error) are "中文 / English"; pydantic's are English only.
    custom = error.get("ctx", {}).get("error") if error.get("type") == "value_error" else None
    reason = str(custom).split(" / ")[0] if custom else TYPES.get(str(error.get("type")), "填写有误")
    if loc and loc[0] == "content":
        where = label(loc[1:], data.get("content"))
        return bad_request(f"{where}：{reason}" if where else reason, field)
    return bad_request(f"{FIELDS.get(str(loc[-1]), str(loc[-1]))}：{reason}" if loc else reason,
                       field)
