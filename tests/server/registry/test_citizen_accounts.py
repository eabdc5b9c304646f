"""A citizen signs in with a code sent to their phone and sees every case of theirs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from server.citizens import codes
from server.citizens.api import ACCOUNTS_KEY
from server.citizens.service import CitizenAccounts
from server.keys import DATABASE_KEY, SETTINGS_KEY
from tests.clients import get_json, post_json
from tests.server.registry.conftest import Window


class Phone:
    """The local border of the notifier: what was sent to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    async def send(self, recipient: str, template: str, params: Mapping[str, str]) -> None:
        self.sent.append((recipient, template, dict(params)))


def test_send_limits_and_tries_are_counted() -> None:
    t = datetime(2026, 3, 2, tzinfo=UTC)
    assert codes.may_send([], t) is None
    assert codes.may_send([t - timedelta(seconds=30)], t) == timedelta(seconds=30)
    five = [t - timedelta(minutes=10 * i + 2) for i in range(5)]
    assert codes.may_send(five, t) is not None
    d = codes.digest(b"k", "13800138000", "123456")
    ok = codes.check(stored_digest=d, given_digest=d, sent_at=t, tries=0, used=False, now=t)
    assert ok.ok and ok.spent
    late = codes.check(stored_digest=d, given_digest=d, sent_at=t, tries=0, used=False,
                       now=t + codes.CODE_TTL + timedelta(seconds=1))
    assert not late.ok
    last_try = codes.check(stored_digest=d, given_digest="x", sent_at=t, tries=codes.MAX_TRIES - 1,
                           used=False, now=t)
    assert not last_try.ok and last_try.spent


async def test_sign_in_by_phone_code_then_my_cases(window: Window) -> None:
    phone = Phone()
    app = window.app
    app[ACCOUNTS_KEY]._notifier = phone  # the local fake of the SMS border
    application, _ = await window.file()
    await window.file(applicant_phone="13900139000", applicant_name="李四")
    status, reply = await post_json(window.url, "/api/citizen/code", {"phone": "138 0013 8000"})
    assert status == 202, reply
    recipient, template, params = phone.sent[-1]
    assert (recipient, template) == ("13800138000", "citizen_sign_in_code")
    # Another code at once is refused (one a minute per number).
    status, reply = await post_json(window.url, "/api/citizen/code", {"phone": "13800138000"})
    assert status == 429 and reply["error"]["code"] == "rate_limited"
    wrong = "000000" if params["code"] != "000000" else "111111"
    status, reply = await post_json(window.url, "/api/citizen/sign-in",
                                    {"phone": "13800138000", "code": wrong})
    assert status == 401 and reply["error"]["code"] == "code_invalid"
    status, reply = await post_json(window.url, "/api/citizen/sign-in",
                                    {"phone": "13800138000", "code": params["code"]})
    assert status == 200, reply
    token = reply["token"]
    # The code is spent once used.
    status, _ = await post_json(window.url, "/api/citizen/sign-in",
                                {"phone": "13800138000", "code": params["code"]})
    assert status == 401
    status, mine = await get_json(window.url, "/api/my/cases", token)
    assert status == 200, mine
    assert [a["id"] for a in mine["applications"]] == [application["id"]]
    shown = mine["applications"][0]
    assert shown["next_deadline"]["code"] == "review" and shown["answerable"]["institution"]
    # The account acts as the applicant (e.g. withdraws), and sees only its own.
    status, reply = await post_json(
        window.url, f"/api/applications/{application['id']}/actions/withdraw",
        {"version": application["version"]}, token)
    assert status == 200 and reply["application"]["state"] == "withdrawn"


async def test_five_wrong_codes_spend_the_code(window: Window) -> None:
    phone = Phone()
    settings = window.app[SETTINGS_KEY]
    window.app[ACCOUNTS_KEY]._notifier = phone
    assert isinstance(window.app[ACCOUNTS_KEY], CitizenAccounts)
    assert window.app[DATABASE_KEY] is not None and settings is not None
    await post_json(window.url, "/api/citizen/code", {"phone": "13800138000"})
    right = phone.sent[-1][2]["code"]
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(codes.MAX_TRIES):
        await post_json(window.url, "/api/citizen/sign-in", {"phone": "13800138000", "code": wrong})
    status, reply = await post_json(window.url, "/api/citizen/sign-in",
                                    {"phone": "13800138000", "code": right})
    assert status == 401 and reply["error"]["code"] == "code_invalid"
