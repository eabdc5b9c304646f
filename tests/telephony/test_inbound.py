"""A real SIPp caller rings the phone line, keys through the menu by RFC 4733 and is queued in
the routing engine like a web intake; hanging up while waiting leaves the queue."""

from __future__ import annotations

from typing import Any

from server.config import Settings
from signaling.keys import ENGINE_KEY
from tests.conftest import serving
from tests.telephony.sipp import sipp, until

CALLER = "13800138000"


async def test_a_caller_keys_through_the_menu_and_waits_in_the_queue(sip_settings: Settings) -> None:
    assert sip_settings.sip is not None
    async with serving(sip_settings) as running:
        caller = await sipp("uac_ivr.xml", (sip_settings.sip.host, sip_settings.sip.port),
                            hold_ms=3000, keys={"caller": CALLER})
        try:
            async def queued() -> Any:
                for task in await running.app[ENGINE_KEY].tasks():
                    case = await running.cases.get(task.task_id)
                    if case is not None and case.citizen_phone == CALLER:
                        return case
                return None

            case = await until(queued, what="the call's case in the queue")
            assert (case.service_type, case.language, case.mode) == ("consultation", "zh", "audio")
            assert case.status == "waiting"
            code, out = await caller.finished()
            assert code == 0, out
            gone = await until(lambda: _status_is(running, case.id, "abandoned"),
                               what="the case abandoned after the caller hung up")
            assert gone
        finally:
            caller.stop()


async def _status_is(running: Any, case_id: str, status: str) -> bool | None:
    case = await running.cases.get(case_id)
    return True if case is not None and case.status == status else None
