"""2 人民调解 or 3 法律援助 on the phone menu files the one-window application (SIPp keys
through the menu): a draft in the case registry filed by the caller's number, owned (首问负责)
by the lawyer who followed the number's earlier case, every material marked missing; the
caller hears the number; the SMS names the number and what is missing; no consultation is
queued."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.keys import DATABASE_KEY
from server.notifications import OutboxNotifier
from server.registry.api import REGISTRY_KEY
from server.registry.models import Application
from signaling.keys import ENGINE_KEY
from signaling.telephony.ivr import filed_prompts
from tests.conftest import Running
from tests.telephony.sipp import HERE, sipp, until

CALLER = "13700137000"


POUND = ('"/></action></nop>\n  <pause milliseconds="700"/>\n'
         '  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound.pcap')


def _menu(tmp_path: Path, service: str) -> str:
    """The IVR caller of uac_ivr.xml, keying ``service`` at the second menu (2 人民调解 then
    "#": no invitation code, so the application is filed)."""
    text = (HERE / "uac_ivr.xml").read_text()
    first = text.index("dtmf_2833_1.pcap") + 1
    at = text.index("dtmf_2833_1.pcap", first)
    key = f"dtmf_2833_{service}.pcap" + (POUND if service == "2" else "")
    path = tmp_path / f"uac_ivr_{service}.xml"
    path.write_text(text[:at] + key + text[at + len("dtmf_2833_1.pcap"):])
    return str(path)


async def _filed(running: Running, phone: str = CALLER) -> Application | None:
    found = await running.app[REGISTRY_KEY].repository.for_phone(phone)
    return found[0] if found else None


async def _sms(running: Running) -> list[dict[str, Any]] | None:
    sent = await OutboxNotifier(running.app[DATABASE_KEY], lambda: datetime.now(UTC)).latest(
        recipient=CALLER)
    return sent or None


def test_the_number_is_read_out_digit_by_digit() -> None:
    assert filed_prompts("泉城调〔2026〕12号", "mediation") == (
        "filed", "digit_2", "digit_0", "digit_2", "digit_6", "number_year", "digit_1",
        "digit_2", "number_end", "next_mediation", "thanks")


async def test_legal_aid_chosen_on_the_phone_is_filed_and_the_caller_told_by_sms(
        settings: Any, running: Running, tmp_path: Path) -> None:
    assert settings.sip is not None
    caller = await sipp(_menu(tmp_path, "3"), (settings.sip.host, settings.sip.port),
                        hold_ms=20000, keys={"caller": CALLER})
    try:
        application = await until(lambda: _filed(running), what="the application filed")
        assert (application.item, application.state) == ("legal_aid", "draft")
        assert (application.filed_as, application.filed_by) == ("phone", f"phone:{CALLER}")
        assert application.owner_id is None and application.number
        materials = await running.app[REGISTRY_KEY].repository.materials(application.id)
        assert {m.code: m.status for m in materials} == {
            "id_proof": "missing", "hardship": "missing", "case_materials": "missing"}
        sms = await until(lambda: _sms(running), what="the SMS")
        assert sms[0]["template"] == "phone_application_filed"
        assert sms[0]["params"]["number"] == application.number
        assert sms[0]["params"]["missing"] == "身份证明、经济困难状况说明、与所申请法律援助事项有关的材料"
        assert sms[0]["params"]["link"].endswith("/my")
        # Filed, not queued: no consultation waits for this caller.
        for task in await running.app[ENGINE_KEY].tasks():
            case = await running.cases.get(task.task_id)
            assert case is None or case.citizen_phone != CALLER
    finally:
        caller.stop()


async def test_mediation_by_phone_goes_to_the_lawyer_who_had_the_caller_first(
        settings: Any, running: Running, connect: Any, tmp_path: Path) -> None:
    assert settings.sip is not None
    await running.add_lawyer("owner", skills={"labour": 3}, region="qz-kecheng")
    owner = await connect(await running.login("owner"))
    first, _ = await running.intake(category="labour", phone=CALLER)
    assert (await owner.wait_for("offer:new"))["case"]["id"] == first
    assert (await owner.call("offer:accept", {"case_id": first}))["ok"]
    assert (await owner.call("case:end", {"case_id": first, "outcome": "follow_up"}))["ok"]
    owner_id = (await running.cases.get(first)).owner_id
    assert owner_id is not None

    caller = await sipp(_menu(tmp_path, "2"), (settings.sip.host, settings.sip.port),
                        hold_ms=20000, keys={"caller": CALLER})
    try:
        application = await until(lambda: _filed(running), what="the application filed")
        assert (application.item, application.state, application.owner_id) == (
            "mediation", "draft", owner_id)
        sms = await until(lambda: _sms(running), what="the SMS")
        assert sms[0]["params"]["missing"] == "对方当事人、身份证明"
    finally:
        caller.stop()




async def test_a_filing_the_registry_refuses_queues_the_caller_for_a_lawyer(
        settings: Any, running: Running, tmp_path: Path) -> None:
    assert settings.sip is not None
    landline = "059112345678"  # not a mobile: no application, no SMS can reach it
    caller = await sipp(_menu(tmp_path, "3"), (settings.sip.host, settings.sip.port),
                        hold_ms=15000, keys={"caller": landline})

    async def queued() -> Any:
        for task in await running.app[ENGINE_KEY].tasks():
            case = await running.cases.get(task.task_id)
            if case is not None and case.citizen_phone == landline:
                return case
        return None

    try:
        case = await until(queued, timeout=30, what="the caller queued instead")
        assert case.service_type == "legal_aid"
        assert await _filed(running, landline) is None
    finally:
        caller.stop()
