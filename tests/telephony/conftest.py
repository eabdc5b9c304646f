"""The phone line's tests: the prompts built as `make prompts` builds them, SIP settings on a
free port of this suite's range."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.config import Settings
from signaling.telephony.build_prompts import build
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port


@pytest.fixture(scope="session", autouse=True)
def prompts() -> None:
    if shutil.which("espeak-ng") is None or shutil.which("sipp") is None:
        pytest.skip("needs espeak-ng and sipp (make install-test-system)")
    build()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shared fixtures' server (``running``), with the phone line on."""
    port = free_udp_port(SIP_PORTS)
    return Settings.from_env({
        "PARLEY_DATA_DIR": str(tmp_path / "var"), "PARLEY_SIP_LISTEN": f"127.0.0.1:{port}",
        "PARLEY_SIP_RTP_PORTS": RTP_PORTS, "PARLEY_SIP_ANNOUNCE_S": "1", "PARLEY_WRAP_UP_S": "0",
    })
