"""The SMS provider adapter against a local fake of the provider's real protocol (signed SendSms
form posts, JSON replies, delivery reports), with retries, opt-outs and limits per number."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.db import Database
from server.errors import ParleyError
from server.models import Base
from server.notifications.sms import SmsAccount, SmsNotifier
from server.notifications.sms_models import SmsMessage, SmsOptOut
from server.notifications.sms_protocol import Report, signature

SECRET = "provider-secret"


class FakeProvider:
    """What the provider does: checks the signature, answers with a BizId or an error code."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.replies: list[dict[str, Any] | int] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        fields = {k: str(v) for k, v in form.items()}
        given = fields.pop("Signature", "")
        if given != signature(fields, SECRET):
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "bad signature"})
        self.requests.append(fields)
        reply = self.replies.pop(0) if self.replies else {"Code": "OK", "BizId": f"biz{len(self.requests)}",
                                                          "Message": "OK"}
        if isinstance(reply, int):
            return web.Response(status=reply, text="upstream error")
        return web.json_response(reply)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def provider() -> AsyncIterator[tuple[FakeProvider, str]]:
    fake = FakeProvider()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield fake, str(server.make_url("/"))
    finally:
        await server.close()


@pytest.fixture
async def sms(provider: tuple[FakeProvider, str], tmp_path: Path
              ) -> AsyncIterator[tuple[SmsNotifier, Clock, Database]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/sms.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all,
                            tables=[SmsMessage.__table__, SmsOptOut.__table__])  # type: ignore[list-item]
    clock = Clock()
    account = SmsAccount(url=provider[1], key_id="key-1", secret=SECRET, sign_name="衢州市司法局",
                         templates={"mediation_invitation": "SMS_1001", "signing_code": "SMS_1002"})
    notifier = SmsNotifier(db, account, clock)
    try:
        yield notifier, clock, db
    finally:
        await notifier.close()
        await db.close()


INVITE = {"case": "柯调〔2026〕1号", "code": "ABCD2345", "link": "http://127.0.0.1:8080/join"}


async def states(db: Database) -> list[tuple[str, str, int]]:
    from sqlalchemy import select
    async with db.session() as session:
        rows = await session.scalars(select(SmsMessage).order_by(SmsMessage.created_at))
        return [(m.state, m.biz_id or "", m.attempts) for m in rows]


async def test_a_message_is_signed_sent_and_its_delivery_report_recorded(sms, provider) -> None:  # type: ignore[no-untyped-def]
    notifier, _, db = sms
    fake, _ = provider
    await notifier.send("13800138000", "mediation_invitation", INVITE)
    [request] = fake.requests
    assert (request["TemplateCode"], request["PhoneNumbers"], request["SignName"]) == (
        "SMS_1001", "13800138000", "衢州市司法局")
    assert json.loads(request["TemplateParam"]) == INVITE
    assert await states(db) == [("sent", "biz1", 1)]
    assert await notifier.record_reports([Report("biz1", "13800138000", True, "DELIVERED")]) == 1
    assert await states(db) == [("delivered", "biz1", 1)]
    # A report for another number does not touch it.
    assert await notifier.record_reports([Report("biz1", "13900000000", False, "x")]) == 0


async def test_a_temporary_failure_is_retried_and_a_permanent_one_is_not(sms, provider) -> None:  # type: ignore[no-untyped-def]
    notifier, clock, db = sms
    fake, _ = provider
    fake.replies = [503, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}]
    await notifier.send("13800138000", "mediation_invitation", INVITE)
    await notifier.send("13800138001", "mediation_invitation", INVITE)
    assert [s for s, _, _ in await states(db)] == ["retrying", "failed"]
    assert await notifier.retry_due() == 0  # not yet: 30 s
    clock.now += timedelta(seconds=31)
    assert await notifier.retry_due() == 1
    assert await states(db) == [("sent", "biz3", 2), ("failed", "", 1)]  # the third request
    failed = [m for m in await notifier.latest() if m["state"] == "failed"]
    assert failed and failed[0]["error"].startswith("isv.MOBILE_NUMBER_ILLEGAL")


async def test_an_unreachable_provider_gives_up_after_four_tries(sms, provider) -> None:  # type: ignore[no-untyped-def]
    notifier, clock, db = sms
    fake, _ = provider
    fake.replies = [500, 500, 500, 500]
    await notifier.send("13800138000", "mediation_invitation", INVITE)
    for wait in (31, 121, 601):
        clock.now += timedelta(seconds=wait)
        assert await notifier.retry_due() == 1
    assert await states(db) == [("failed", "", 4)]
    assert await notifier.retry_due() == 0  # given up: staff see it failed


async def test_opt_outs_are_honoured_except_for_codes_the_person_asked_for(sms) -> None:  # type: ignore[no-untyped-def]
    notifier, _, db = sms
    await notifier.opt_out("13800138000")
    with pytest.raises(ParleyError) as err:
        await notifier.send("13800138000", "mediation_invitation", INVITE)
    assert err.value.code == "opted_out"
    await notifier.send("13800138000", "signing_code", {"case": "x", "code": "123456", "minutes": "5"})
    assert [s for s, _, _ in await states(db)] == ["sent"]


async def test_messages_to_one_number_are_limited(sms) -> None:  # type: ignore[no-untyped-def]
    notifier, clock, _ = sms
    for _ in range(3):
        await notifier.send("13800138000", "mediation_invitation", INVITE)
    with pytest.raises(ParleyError) as err:
        await notifier.send("13800138000", "mediation_invitation", INVITE)
    assert err.value.code == "rate_limited"
    clock.now += timedelta(minutes=1, seconds=1)
    await notifier.send("13800138000", "mediation_invitation", INVITE)
    with pytest.raises(KeyError):  # a template the code does not know is a bug, not a reply
        await notifier.send("13800138000", "no_such_template", {})


async def test_the_provider_s_callbacks_need_its_token_and_update_delivery(
        tmp_path: Path, provider: tuple[FakeProvider, str]) -> None:
    from server.config import ConfigError, Settings
    from signaling.app.factory import create_app
    from tests.clients import post_json

    env = {"PARLEY_DATA_DIR": str(tmp_path / "var"), "PARLEY_SMS_URL": provider[1],
           "PARLEY_SMS_KEY_ID": "key-1", "PARLEY_SMS_SECRET": SECRET, "PARLEY_SMS_SIGN_NAME": "衢州市司法局",
           "PARLEY_SMS_TEMPLATES": json.dumps({"mediation_invitation": "SMS_1001"}),
           "PARLEY_SMS_CALLBACK_TOKEN": "t" * 20}
    with pytest.raises(ConfigError, match="PARLEY_SMS_SECRET"):
        Settings.from_env({k: v for k, v in env.items() if k != "PARLEY_SMS_SECRET"})
    app = create_app(Settings.from_env(env))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        from server.notifications.sms_api import SMS_KEY
        await app[SMS_KEY].send("13800138000", "mediation_invitation", INVITE)
        report = [{"phone_number": "13800138000", "biz_id": "biz1", "success": True,
                   "err_code": "DELIVERED", "report_time": "2026-03-02 10:00:05"}]
        status, _ = await post_json(url, "/api/sms/reports?token=wrong", report)
        assert status == 403
        status, reply = await post_json(url, f"/api/sms/reports?token={'t' * 20}", report)
        assert status == 200, reply
        status, reply = await post_json(url, f"/api/sms/reports?token={'t' * 20}", {"not": "a list"})
        assert status == 400
        status, _ = await post_json(url, f"/api/sms/replies?token={'t' * 20}",
                                    [{"phone_number": "13800138000", "content": "退订"}])
        assert status == 200
        assert [m["state"] for m in await app[SMS_KEY].latest()] == ["delivered"]
        with pytest.raises(ParleyError, match="opted out"):
            await app[SMS_KEY].send("13800138000", "mediation_invitation", INVITE)
    finally:
        await server.close()
