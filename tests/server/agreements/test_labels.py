"""A save the edge refuses names its field in zh-CN (the party or term, then the field), and a
comment's clause must be a section or a term of its version."""

from __future__ import annotations

from typing import Any

import pytest

from server.agreements.content import AgreementContent, clause_exists
from server.agreements.labels import label
from server.agreements.schemas import SaveBody
from server.errors import ParleyError
from signaling.agreements.events import AgreementEvents
from tests.server.agreement_samples import content_dict


def refusal(content: dict[str, Any]) -> ParleyError:
    data = {"case_id": "c" * 32, "base_version": 1, "content": content}
    with pytest.raises(ParleyError) as caught:
        AgreementEvents.parse_save(data)
    return caught.value


def test_an_amount_with_words_names_the_term_and_its_obligor() -> None:
    content = content_dict()
    content["obligations"][0]["amount"] = "4000元"
    error = refusal(content)
    assert error.code == "bad_request" and error.field == "content.obligations.0.amount"
    assert error.message.startswith("第 1 项约定事项（李四）的金额：金额须为数字")
    assert "/" not in error.message and "提交的信息有误" not in error.message


def test_a_bad_date_names_the_party() -> None:
    content = content_dict()
    content["parties"][1]["date_of_birth"] = "1990年7月20日"
    error = refusal(content)
    assert error.field == "content.parties.1.date_of_birth"
    assert error.message == "被申请人李四的出生日期：日期格式不正确"


def test_an_unknown_choice_and_an_unknown_field_are_named() -> None:
    content = content_dict()
    content["parties"][0]["sex"] = "男"
    assert refusal(content).message == "申请人张三的性别：不是可选的值"
    content = content_dict()
    content["obligations"][0]["colour"] = "red"
    assert refusal(content).message == "第 1 项约定事项（李四）的colour：不是协议的内容"


def test_labels_outside_parties_and_terms() -> None:
    assert label(["facts"], {}) == "纠纷主要事实"
    assert label(["committee", "name"], {}) == "人民调解委员会的姓名或名称"
    assert label(["parties", 3, "name"], {"parties": []}) == "当事人第 4 位的姓名或名称"


def test_a_valid_save_still_parses() -> None:
    body = AgreementEvents.parse_save({"case_id": "c" * 32, "base_version": 1,
                                       "content": content_dict()})
    assert isinstance(body, SaveBody)


def test_comment_clauses_are_sections_or_terms() -> None:
    content = AgreementContent.model_validate(content_dict())
    term = content.obligations[0].id
    for ok in ("parties", "facts", "issues", "responsibility", "other_terms", f"term.{term}",
               "obligations.0"):
        assert clause_exists(content, ok), ok
    for bad in ("term.nope", "obligations.9", "obligations.x", "signature", "term."):
        assert not clause_exists(content, bad), bad
