import pytest

from server.errors import ParleyError
from server.schemas import IntakeBody, normalise_phone
from server.validation import check_size, parse
from tests.clients import intake_body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
     ("8619912345678", "19912345678"), ("138 0013 8000", "13800138000")],
)
def test_mainland_mobile_numbers(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "0755-1234567", "abc"])
def test_not_mobile_numbers(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"category": "piracy"}, "category"),
        ({"mode": "fax"}, "mode"),
        ({"region": "mars"}, "region"),
        ({"service_type": "x"}, "service_type"),
        ({"description": "长" * 2001}, "description"),
        ({"description": "   "}, "description"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_intake_refusals_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ParleyError) as err:
        parse(IntakeBody, intake_body(**overrides))
    assert err.value.code == "bad_request"
    assert err.value.field == field


def test_intake_accepts_2000_characters() -> None:
    assert len(parse(IntakeBody, intake_body(description="长" * 2000)).description) == 2000


def test_payload_size_cap() -> None:
    check_size({"text": "x" * 60_000})
    with pytest.raises(ParleyError) as err:
        check_size({"text": "x" * 70_000})
    assert err.value.code == "payload_too_large"


def test_non_object_payload() -> None:
    with pytest.raises(ParleyError, match="object"):
        parse(IntakeBody, ["not", "an", "object"])
