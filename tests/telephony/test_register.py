"""Registering with the trunk (PARLEY_SIP_REGISTER) against SIPp as a registrar that challenges
every REGISTER with digest: registered, refreshed before the grant runs out, the binding
removed on shutdown (the scenario fails unless it sees Expires: 0), state in /metrics; a
registrar that is down for a moment is tried again after a back-off; a wrong password is a
failure named in the log."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from server.config import Settings, SipTrunk
from signaling.keys import PHONE_DESK_KEY
from signaling.telephony.registration import Backoff, RegState
from signaling.telephony.sipline import SipLine
from signaling.telephony.trunk import TrunkRegistration
from tests.conftest import serving
from tests.telephony.sipp import HERE, SIP_PORTS, free_udp_port, sipp, until

PASSWORD = "s3cret-trunk"


@pytest.fixture
def registrar_port() -> int:
    return free_udp_port(range(SIP_PORTS.stop - 1, SIP_PORTS.start, -1))


async def _noop(_call: object) -> None:
    return None


async def test_parley_registers_refreshes_and_unregisters_on_shutdown(
        tmp_path: Path, registrar_port: int) -> None:
    port = free_udp_port(SIP_PORTS, {registrar_port})
    settings = Settings.from_env({
        "PARLEY_DATA_DIR": str(tmp_path / "var"), "PARLEY_SIP_LISTEN": f"127.0.0.1:{port}",
        "PARLEY_SIP_TRUNK": f"127.0.0.1:{registrar_port}", "PARLEY_SIP_USER": "parley",
        "PARLEY_SIP_PASSWORD": PASSWORD, "PARLEY_SIP_REGISTER": "1",
        "PARLEY_SIP_DOMAIN": "trunk.example",
    })
    registrar = await sipp("uas_registrar.xml", None, port=registrar_port,
                           keys={"password": PASSWORD, "grant": "2"})
    try:
        async with serving(settings) as running:
            status = running.app[PHONE_DESK_KEY].registration_status
            await until(lambda: _true(status.state is RegState.REGISTERED), what="registered")
            assert status.granted_s == 2
            async with aiohttp.ClientSession() as http, \
                    http.get(f"{running.url}/metrics") as response:
                text = await response.text()
            assert 'parley_sip_registration{state="registered"} 1' in text
            assert "parley_sip_registration_granted_seconds 2" in text
            # A 2 s grant is refreshed before it runs out, challenged again, granted 3600 s.
            await until(lambda: _true(status.granted_s == 3600), timeout=5, what="the refresh")
            assert status.successes_total == 2 and status.failures_total == 0
        code, out = await registrar.finished(10)
        assert code == 0, out  # the un-REGISTER (Expires: 0) came, challenged and answered
    finally:
        registrar.stop()


async def _true(value: bool) -> bool | None:
    return True if value else None


_DOWN = """  <recv request="REGISTER" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 503 Service Unavailable
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="REGISTER"/>
"""


async def test_a_registrar_down_for_a_moment_is_tried_again_after_a_backoff(
        registrar_port: int, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    # The same registrar, answering its very first REGISTER with 503.
    down = tmp_path / "uas_registrar_down.xml"
    down.write_text((HERE / "uas_registrar.xml").read_text().replace(
        '  <recv request="REGISTER" crlf="true"/>\n', _DOWN, 1))
    line = SipLine("127.0.0.1", free_udp_port(SIP_PORTS, {registrar_port}), lambda _h: True, _noop)
    await line.start()
    trunk = SipTrunk("127.0.0.1", registrar_port, "parley", PASSWORD, True, "trunk.example")
    registration = TrunkRegistration(line, trunk, backoff=Backoff(first_s=0.2, cap_s=1.0))
    registrar = await sipp(str(down), None, port=registrar_port,
                           keys={"password": PASSWORD, "grant": "3600"})
    try:
        with caplog.at_level(logging.INFO, logger="signaling.telephony.trunk"):
            registration.start()
            await until(lambda: _true(registration.status.state is RegState.REGISTERED),
                        what="registered after the 503")
        assert registration.status.failures_total == 1
        assert "failed: 503, the trunk is unavailable" in caplog.text
        assert "SIP registered with trunk" in caplog.text
    finally:
        await registration.close()
        await line.close()
    registrar.stop()
    assert registration.status.state is RegState.UNREGISTERED


async def test_a_wrong_password_is_a_failure_the_log_names(
        registrar_port: int, caplog: pytest.LogCaptureFixture) -> None:
    line = SipLine("127.0.0.1", free_udp_port(SIP_PORTS, {registrar_port}), lambda _h: True, _noop)
    await line.start()
    trunk = SipTrunk("127.0.0.1", registrar_port, "parley", "wrong", True, "trunk.example")
    registration = TrunkRegistration(line, trunk, backoff=Backoff(first_s=30.0, cap_s=30.0))
    registrar = await sipp("uas_registrar.xml", None, port=registrar_port,
                           keys={"password": PASSWORD, "grant": "3600"})
    try:
        with caplog.at_level(logging.WARNING, logger="signaling.telephony.trunk"):
            registration.start()
            await until(lambda: _true(registration.status.state is RegState.FAILED),
                        what="the refusal")
        assert registration.status.last_status == 403
        assert "credentials refused (PARLEY_SIP_USER / PARLEY_SIP_PASSWORD)" in caplog.text
        assert "trying again in 30 s" in caplog.text
        code, out = await registrar.finished(10)
        assert code == 0, out
    finally:
        registrar.stop()
        await registration.close()
        await line.close()


def test_refresh_comes_before_the_grant_runs_out_and_failures_back_off() -> None:
    from signaling.telephony.registration import BACKOFF, refresh_in, retry_in

    assert refresh_in(3600) == 3570 and refresh_in(60) == 30 and refresh_in(2) == 1
    assert [retry_in(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_in(20) == BACKOFF.cap_s
