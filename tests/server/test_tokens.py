import pytest

from server.errors import ParleyError
from server.tokens import Claims, sign, verify

KEY = b"k" * 48


def claims(exp: int = 2_000) -> Claims:
    return Claims(sub="c1", kind="citizen", role="citizen", case="c1", exp=exp, name="张三")


def test_round_trip() -> None:
    assert verify(sign(claims(), KEY), KEY, now=1_000) == claims()


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "token_missing"),
        ("", "token_missing"),
        ("garbage", "token_invalid"),
        ("a.b.c", "token_invalid"),
    ],
)
def test_refusals(token: str | None, code: str) -> None:
    with pytest.raises(ParleyError) as err:
        verify(token, KEY, now=1_000)
    assert err.value.code == code


def test_forged_and_expired() -> None:
    token = sign(claims(), KEY)
    _body, mac = token.split(".")
    forged = sign(Claims(sub="c2", kind="citizen", role="lawyer", exp=2_000), b"x" * 48)
    with pytest.raises(ParleyError, match="invalid"):
        verify(f"{forged.split('.')[0]}.{mac}", KEY, now=1_000)
    with pytest.raises(ParleyError, match="invalid"):
        verify(forged, KEY, now=1_000)
    with pytest.raises(ParleyError) as err:
        verify(token, KEY, now=2_000)
    assert err.value.code == "token_expired"
