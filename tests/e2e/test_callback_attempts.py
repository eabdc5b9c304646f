"""A lawyer in real headless Chromium takes a citizen's callback; `parley serve` dials them
through the trunk (SIPp: digest challenge, then 486 Busy Here), and the agent page lists the
attempt with its time and result, in zh-CN and, after a language switch, in English; a reload
shows it again (CaseView.callback_attempts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.clients import SocketClient, intake_body, post_json
from tests.e2e.harness import new_page, start_server
from tests.e2e.test_consultation import sign_in, take_next
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port, sipp

CITIZEN = "13600136001"


async def test_the_lawyer_sees_each_callback_attempt_and_its_result(tmp_path: Path,
                                                                    browser: Browser) -> None:
    if shutil.which("sipp") is None:
        pytest.fail("sipp is missing: `make test` installs it")
    trunk_port = free_udp_port(range(SIP_PORTS.stop - 1, SIP_PORTS.start, -1))
    sip_port = free_udp_port(SIP_PORTS, {trunk_port})
    server = await start_server(tmp_path / "var", {
        "PARLEY_SIP_LISTEN": f"127.0.0.1:{sip_port}", "PARLEY_SIP_RTP_PORTS": RTP_PORTS,
        "PARLEY_SIP_TRUNK": f"127.0.0.1:{trunk_port}", "PARLEY_SIP_USER": "parley",
        "PARLEY_SIP_PASSWORD": "s3cret-trunk"})
    trunk = await sipp("uas_busy.xml", None, port=trunk_port, keys={"password": "s3cret-trunk"})
    citizen = SocketClient(server.url)
    try:
        server.add_lawyer("lawyer1")
        status, body = await post_json(server.url, "/api/intake",
                                       intake_body(phone=CITIZEN, mode="audio"))
        assert status == 201, body
        await citizen.connect(body["token"])
        assert (await citizen.call("queue:callback"))["ok"]

        _, lawyer = await new_page(browser, server.url)
        await sign_in(lawyer, "lawyer1")
        await take_next(lawyer)
        attempt = lawyer.get_by_test_id("callback-attempt")
        await expect(attempt).to_have_count(1, timeout=20_000)
        await expect(attempt).to_have_attribute("data-outcome", "busy")
        await expect(attempt).to_contain_text("第1次")
        await expect(attempt).to_contain_text("忙线")
        await expect(lawyer.get_by_test_id("callback-attempts")).to_contain_text("回拨记录")
        assert await attempt.locator("time").get_attribute("datetime")

        await lawyer.get_by_test_id("lang-switch").select_option("en")
        await expect(attempt).to_contain_text("Attempt 1")
        await expect(attempt).to_contain_text("Busy")
        await expect(lawyer.get_by_test_id("callback-attempts")).to_contain_text(
            "Callback attempts")

        await lawyer.reload()  # the list comes back with the case (CaseView.callback_attempts)
        await expect(lawyer.get_by_test_id("callback-attempt")).to_contain_text("Busy",
                                                                               timeout=15_000)
        code, out = await trunk.finished(30)
        assert code == 0, out
    finally:
        await citizen.close()
        trunk.stop()
        server.stop()
