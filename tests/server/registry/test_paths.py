"""The rest of the one window's paths: a court's or police referral (诉调、警调), a mediation that
fails and ends with the notice of other routes, and materials accepted outstanding (容缺受理) or
replaced by a signed commitment (告知承诺制)."""

from __future__ import annotations

import aiohttp

from tests.server.registry.conftest import Window


async def notice(window: Window, application_id: str, token: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(
            f"{window.url}/api/applications/{application_id}/notice",
            headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def test_a_police_referral_reaches_the_committee_recorded_as_a_referral(window: Window) -> None:
    _, police = await window.staff("police1", "referrer")
    _, mediator = await window.staff("med1", "mediator", "qz-kecheng-committee")
    referred, token = await window.file(
        police, item="mediation", category="neighbour", respondent_name="王五", materials=[],
        statement="派出所接警：邻里因排水沟发生争执，建议调解", hardship=None)
    assert token == "" and referred["filed_as"] == "referrer"
    assert referred["state"] == "received"  # a referral needs no confirmation by a lawyer's draft
    assert referred["institution"]["code"] == "qz-kecheng-committee"
    # The referring officer follows it but does not decide it; the committee does.
    assert (await window.get(police, referred["id"]))["number"] == referred["number"]
    await window.act(police, referred, "accept", expect=403)
    assert (await window.act(mediator, referred, "accept"))["state"] == "awaiting_respondent"


async def test_a_mediation_that_fails_ends_with_the_notice_of_other_routes(window: Window) -> None:
    _, mediator = await window.staff("med2", "mediator", "qz-kecheng-committee")
    application, citizen = await window.file(
        item="mediation", category="neighbour", respondent_name="王五", materials=[],
        statement="邻居违建挡住采光", hardship=None)
    accepted = await window.act(mediator, application, "accept")
    # No phone of the other party was given: the mediator records it when they agree.
    no_phone = await window.act(mediator, accepted, "respondent_agree", expect=400)
    assert no_phone["error"]["field"] == "respondent_phone"
    agreed = await window.act(mediator, accepted, "respondent_agree", respondent_phone="13700137000")
    assert agreed["state"] == "in_mediation" and agreed["mediation_case_id"]
    await window.act(mediator, agreed, "fail", expect=400)  # a written reason is required
    failed = await window.act(mediator, agreed, "fail", reason="双方对赔偿数额分歧过大")
    assert failed["state"] == "failed" and failed["other_routes"]
    assert failed["actions"] == []
    page = await notice(window, application["id"], citizen)
    assert "第二十六条" in page and "双方对赔偿数额分歧过大" in page and "仲裁" in page


async def test_materials_accepted_outstanding_or_replaced_by_a_commitment(window: Window) -> None:
    application, citizen = await window.file(materials=[
        {"code": "id_proof", "status": "provided"},
        {"code": "hardship", "status": "commitment",
         "commitment_text": "本人承诺家庭经济困难情况属实，如有不实愿承担责任。"},
        {"code": "case_materials", "status": "deferred"}])
    rows = {m["code"]: m for m in application["materials"]}
    assert rows["hardship"]["status"] == "commitment"
    assert rows["hardship"]["commitment_text"].startswith("本人承诺")
    # 容缺受理: received at once, the outstanding material due in the item's supply limit
    # (15 days from Mon 2 March).
    assert application["state"] == "received"
    assert rows["case_materials"]["status"] == "deferred"
    assert rows["case_materials"]["due"] == "2026-03-17"
    # A commitment without its text, or for a material that allows none, is refused.
    for materials in ([{"code": "hardship", "status": "commitment"}],
                      [{"code": "id_proof", "status": "commitment", "commitment_text": "x"}]):
        status, reply = await _file(window, materials)
        assert status == 400 and reply["error"]["field"] == "materials"
    assert citizen


async def _file(window: Window, materials: list[dict[str, str]]) -> tuple[int, dict]:  # type: ignore[type-arg]
    from tests.clients import post_json

    return await post_json(window.url, "/api/applications", {
        "item": "legal_aid", "region": "qz-kecheng", "category": "labour",
        "applicant_name": "张三", "applicant_phone": "13800138000", "statement": "欠薪",
        "hardship": "statement", "materials": materials})


async def test_the_assigned_lawyer_sees_their_legal_aid_cases(window: Window) -> None:
    from tests.clients import get_json

    _, centre = await window.staff("aid7", "legal_aid", "qz-kecheng-legal-aid")
    lawyer_id, lawyer = await window.staff("yushan", "lawyer", region="sr-yushan")
    _, other_lawyer = await window.staff("other", "lawyer")
    application, _ = await window.file()
    await window.get(lawyer, application["id"], expect=404)
    granted = await window.act(centre, application, "grant")
    assigned = await window.act(centre, granted, "assign", lawyer_id=lawyer_id)
    status, queue = await get_json(window.url, "/api/work-queue/assigned", lawyer)
    assert status == 200 and [a["id"] for a in queue["applications"]] == [application["id"]]
    shown = await window.get(lawyer, application["id"])
    assert shown["applicant"]["phone"] == "13800138000" and shown["actions"] == []
    assert assigned["assigned_lawyer_id"] == lawyer_id
    await window.get(other_lawyer, application["id"], expect=404)
    status, queue = await get_json(window.url, "/api/work-queue/assigned", other_lawyer)
    assert status == 200 and queue["applications"] == []
    status, _ = await get_json(window.url, "/api/work-queue/assigned", centre)
    assert status == 403
