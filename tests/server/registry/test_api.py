"""The one window over REST: legal aid with its clocks and cross-region transfer, mediation on
application with a refusal, and who may do what."""

from __future__ import annotations

from tests.clients import get_json, get_text, post_json
from tests.server.registry.conftest import Window


def clock(view: dict, code: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in view["clocks"] if c["code"] == code)


async def test_legal_aid_told_once_supplied_granted_and_assigned_to_a_lawyer_of_another_region(
        window: Window) -> None:
    _, centre = await window.staff("aid1", "legal_aid", "qz-kecheng-legal-aid")
    lawyer_id, _ = await window.staff("lawyer-yushan", "lawyer", region="sr-yushan")
    application, citizen = await window.file()
    assert application["number"] == "柯援〔2026〕1号"
    assert application["state"] == "received"
    # Review within 7 days of receipt (法律援助法 Art 43): received Mon 2 March 2026 (China).
    review = clock(application, "review")
    assert (review["due"], review["state"], review["days_left"]) == ("2026-03-09", "running", 7)
    assert application["next_deadline"]["code"] == "review"

    status, queue = await get_json(window.url, "/api/work-queue", centre)
    assert status == 200 and [a["id"] for a in queue["applications"]] == [application["id"]]

    told = await window.act(centre, application, "request_materials",
                            materials=["case_materials"], reason="请补充劳动合同和工资条")
    assert told["state"] == "awaiting_materials" and told["missing"] == ["case_materials"]
    assert clock(told, "review")["state"] == "paused"
    assert clock(told, "supply")["state"] == "running"
    status, _ = await get_text(window.url, f"/api/applications/{told['id']}/notice")
    assert status == 401  # a notice is read with a token, like the application
    window.clock.advance(days=3)
    supplied = await window.act(citizen, told, "supply_materials", materials=["case_materials"])
    # The review starts afresh from the day the materials arrived (5 March + 7 = 12 March).
    assert supplied["state"] == "received"
    assert clock(supplied, "review")["due"] == "2026-03-12"
    assert clock(supplied, "supply")["state"] == "kept"
    # Told once: a second request for materials is refused.
    again = await window.act(centre, supplied, "request_materials", expect=409,
                             materials=["id_proof"])
    assert again["error"]["code"] == "already_told"

    granted = await window.act(centre, supplied, "grant")
    assert clock(granted, "review")["state"] == "kept"
    # 3 days from Thu 5 March end on Sunday 8 March, a day off: the period runs to Monday 9.
    assert clock(granted, "assignment")["due"] == "2026-03-09"
    # 统筹调配: a lawyer of another region may be assigned.
    assigned = await window.act(centre, granted, "assign", lawyer_id=lawyer_id)
    assert assigned["state"] == "assigned" and assigned["assigned_lawyer_id"] == lawyer_id
    assert clock(assigned, "assignment")["state"] == "kept"
    mine = await window.get(citizen, application["id"])
    assert mine["state"] == "assigned"
    assert [e["kind"] for e in mine["timeline"]] == [
        "filed", "request_materials", "supply_materials", "grant", "assign"]


async def test_a_cross_region_transfer_moves_the_application_and_restarts_the_clock_on_receipt(
        window: Window) -> None:
    _, here = await window.staff("aid-kecheng", "legal_aid", "qz-kecheng-legal-aid")
    _, there = await window.staff("aid-yushan", "legal_aid", "sr-yushan-legal-aid")
    application, citizen = await window.file()
    window.clock.advance(days=2)
    moved = await window.act(here, application, "transfer", to_institution="sr-yushan-legal-aid",
                             reason="纠纷发生地在玉山县")
    assert moved["institution"]["zh"] == "上饶市玉山县法律援助中心"
    review = clock(moved, "review")
    assert review["institution"] == "sr-yushan-legal-aid" and review["due"] == "2026-03-11"
    # The sending centre's queue no longer has it; the receiving one's does.
    status, queue = await get_json(window.url, "/api/work-queue", here)
    assert status == 200 and queue["applications"] == []
    status, queue = await get_json(window.url, "/api/work-queue", there)
    assert [a["id"] for a in queue["applications"]] == [application["id"]]
    # Both centres see where it is (跨地域转交); the sending one no longer acts on it.
    followed = await window.get(here, application["id"])
    assert followed["institution"]["code"] == "sr-yushan-legal-aid" and followed["actions"] == []
    await window.act(here, followed, "grant", expect=403)
    seen = await window.get(citizen, application["id"])
    assert seen["institution"]["code"] == "sr-yushan-legal-aid"
    assert seen["timeline"][-1]["data"]["from_institution"] == "qz-kecheng-legal-aid"


async def test_a_refusal_with_reasons_an_objection_and_the_bureau_s_decision(window: Window) -> None:
    _, centre = await window.staff("aid2", "legal_aid", "qz-kecheng-legal-aid")
    _, bureau = await window.staff("bureau1", "bureau", "qz-kecheng-justice")
    application, citizen = await window.file()
    no_reason = await window.act(centre, application, "refuse", expect=400)
    assert no_reason["error"]["code"] == "reason_required"
    refused = await window.act(centre, application, "refuse", reason="不符合经济困难标准")
    objected = await window.act(citizen, refused, "object", reason="我是农民工，追讨工资免于审查")
    # 5 days from Mon 2 March end on Saturday 7 March: the period runs to Monday 9 March.
    assert clock(objected, "objection")["due"] == "2026-03-09"
    status, queue = await get_json(window.url, "/api/work-queue", bureau)
    assert status == 200 and [a["id"] for a in queue["applications"]] == [application["id"]]
    # The centre may not decide the objection to its own refusal.
    assert (await window.act(centre, objected, "uphold_objection", expect=403,
                             reason="x"))["error"]["code"] == "forbidden"
    upheld = await window.act(bureau, objected, "uphold_objection", reason="属于免审情形")
    assert upheld["state"] == "granted"
    # A step decided on an old version is refused, not applied twice.
    assert (await window.act(bureau, objected, "uphold_objection", expect=409,
                             reason="x"))["error"]["code"] == "stale"


async def test_staff_of_another_institution_and_other_citizens_cannot_see_or_act(window: Window) -> None:
    _, other_centre = await window.staff("aid3", "legal_aid", "qz-longyou-legal-aid")
    _, supervisor = await window.staff("sup1", "supervisor")
    application, _ = await window.file()
    _, someone_else = await window.file(applicant_name="李四", applicant_phone="13900139000")
    await window.get(other_centre, application["id"], expect=404)
    await window.get(someone_else, application["id"], expect=404)
    refused = await window.act(other_centre, application, "grant", expect=403)
    assert refused["error"]["code"] == "forbidden"
    # The supervisor reads every application, with personal data masked.
    seen = await window.get(supervisor, application["id"])
    assert seen["applicant"]["phone"] == "138****8000"
    assert seen["actions"] == []


async def test_bad_filings_name_their_field(window: Window) -> None:
    from tests.clients import post_json

    base = {"item": "legal_aid", "region": "qz-kecheng", "category": "labour",
            "applicant_name": "张三", "applicant_phone": "13800138000", "statement": "x",
            "hardship": "statement"}
    for change, field in [({"region": "xx-nowhere"}, "region"), ({"item": "consultation"}, "item"),
                          ({"applicant_id_number": "330802199001011234"}, "applicant_id_number"),
                          ({"hardship": None}, "hardship"),
                          ({"materials": [{"code": "id_proof", "status": "deferred"}]}, "materials")]:
        status, reply = await post_json(window.url, "/api/applications", {**base, **change})
        assert status in (400, 422), (change, reply)
        assert reply["error"]["field"] == field, (change, reply)


async def test_a_mediation_application_the_other_party_refuses_ends_with_the_other_routes(
        window: Window) -> None:
    _, mediator = await window.staff("med1", "mediator", "qz-kecheng-committee")
    application, citizen = await window.file(
        item="mediation", category="neighbour", respondent_name="王五",
        respondent_phone="13700137000", statement="邻居违建挡住采光", hardship=None, materials=[])
    assert application["number"] == "柯调〔2026〕1号"
    assert clock(application, "acceptance")["counting"] == "working"
    accepted = await window.act(mediator, application, "accept")
    assert accepted["state"] == "awaiting_respondent"
    # The other party's link goes to their phone (the local outbox here), never to staff.
    from server.notifications.api import OUTBOX_KEY
    [sent] = await window.app[OUTBOX_KEY].latest(recipient="13700137000")
    assert sent["template"] == "mediation_application_invite" and "/apply#t=" in sent["params"]["link"]
    assert "token" not in str(accepted)
    assert clock(accepted, "settlement")["due"] == "2026-04-01"
    refused = await window.act(mediator, accepted, "respondent_refuse", reason="对方明确拒绝调解")
    assert refused["state"] == "refused" and refused["other_routes"]
    status, _ = await get_json(window.url, f"/api/applications/{application['id']}", citizen)
    assert status == 200
    import aiohttp
    async with aiohttp.ClientSession() as session, session.get(
            f"{window.url}/api/applications/{application['id']}/notice",
            headers={"Authorization": f"Bearer {citizen}"}) as response:
        page = await response.text()
    assert response.status == 200 and "第二十六条" in page and "对方明确拒绝调解" in page


async def test_materials_are_type_checked_stored_and_read_back(window: Window) -> None:
    import aiohttp

    _, centre = await window.staff("aid9", "legal_aid", "qz-kecheng-legal-aid")
    application, citizen = await window.file()
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    base = f"{window.url}/api/applications/{application['id']}/materials"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/case_materials?filename=劳动合同.pdf", data=pdf,
                                headers={"Authorization": f"Bearer {citizen}"}) as response:
            assert response.status == 201, await response.text()
            stored = await response.json()
        async with session.post(f"{base}/case_materials?filename=x.exe", data=b"MZ\x90\x00",
                                headers={"Authorization": f"Bearer {citizen}"}) as response:
            assert response.status == 415
            assert (await response.json())["error"]["code"] == "unsupported_type"
        async with session.post(f"{base}/no_such_material", data=pdf,
                                headers={"Authorization": f"Bearer {citizen}"}) as response:
            assert response.status == 400
        async with session.get(f"{window.url}/api/applications/{application['id']}/files/"
                               f"{stored['id']}", headers={"Authorization": f"Bearer {centre}"}
                               ) as response:
            assert response.status == 200 and await response.read() == pdf
    seen = await window.get(centre, application["id"])
    row = next(m for m in seen["materials"] if m["code"] == "case_materials")
    assert row["status"] == "provided" and row["filename"] == "劳动合同.pdf"
    assert seen["timeline"][-1]["kind"] == "material_uploaded"


async def test_materials_not_supplied_in_time_lapse_as_withdrawn(window: Window) -> None:
    from server.registry.api import REGISTRY_KEY

    _, centre = await window.staff("aid10", "legal_aid", "qz-kecheng-legal-aid")
    application, citizen = await window.file()
    told = await window.act(centre, application, "request_materials", materials=["case_materials"])
    supply_due = clock(told, "supply")["due"]
    registry = window.app[REGISTRY_KEY]
    window.clock.advance(days=15)  # the last day itself still counts
    assert await registry.sweep() == 0
    window.clock.advance(days=2)
    assert await registry.sweep() == 1
    lapsed = await window.get(citizen, application["id"])
    assert lapsed["state"] == "lapsed" and supply_due < window.clock.now.date().isoformat()
    assert lapsed["timeline"][-1]["kind"] == "lapse" and lapsed["timeline"][-1]["actor"] == "system"
    assert clock(lapsed, "supply")["state"] == "missed"  # the applicant's deadline passed


async def test_the_supervisor_sees_clocks_about_to_lapse_and_lapsed(window: Window) -> None:
    _, supervisor = await window.staff("sup9", "supervisor")
    _, centre = await window.staff("aid11", "legal_aid", "qz-kecheng-legal-aid")
    application, _ = await window.file()
    status, reply = await get_json(window.url, "/api/registry/clocks", supervisor)
    assert status == 200 and reply["clocks"] == []  # 7 days left: nothing to warn of yet
    window.clock.advance(days=5)  # 2 days left: the review's warning (warn_days = 2)
    status, reply = await get_json(window.url, "/api/registry/clocks", supervisor)
    assert [(c["number"], c["code"], c["state"]) for c in reply["clocks"]] == [
        (application["number"], "review", "warning")]
    window.clock.advance(days=3)
    status, reply = await get_json(window.url, "/api/registry/clocks", supervisor)
    assert [c["state"] for c in reply["clocks"]] == ["overdue"]
    status, _ = await get_json(window.url, "/api/registry/clocks", centre)
    assert status == 403



async def test_the_other_party_answers_through_the_link_sent_to_their_phone(window: Window) -> None:
    from server.notifications.api import OUTBOX_KEY

    _, mediator = await window.staff("med7", "mediator", "qz-kecheng-committee")
    application, citizen = await window.file(
        item="mediation", category="neighbour", respondent_name="王五",
        respondent_phone="13700137000", statement="排水沟堵塞", hardship=None, materials=[])
    accepted = await window.act(mediator, application, "accept")
    [sent] = await window.app[OUTBOX_KEY].latest(recipient="13700137000")
    respondent = sent["params"]["link"].split("#t=", 1)[1]
    seen = await window.get(respondent, application["id"])
    assert seen["actions"] == ["respondent_agree", "respondent_refuse"]
    assert seen["applicant"]["phone"] == "138****8000"  # the other side sees it masked
    # The applicant cannot answer for the other party.
    await window.act(citizen, accepted, "respondent_refuse", expect=403)
    refused = await window.act(respondent, accepted, "respondent_refuse", reason="不同意调解")
    assert refused["state"] == "refused" and refused["other_routes"]


async def test_an_application_from_a_region_without_a_committee_is_routed_across_the_border(
        window: Window) -> None:
    _, jiangshan = await window.staff("med-js", "mediator", "qz-jiangshan-committee")
    application, citizen = await window.file(
        item="mediation", region="np-pucheng", category="neighbour", respondent_name="李四",
        materials=[])
    # 浦城 (南平) borders only 江山: its committee receives it, and the timeline says why.
    assert application["institution"]["code"] == "qz-jiangshan-committee"
    assert application["timeline"][0]["data"]["widened"] == {
        "from_region": "np-pucheng", "to_region": "qz-jiangshan", "hops": 1}
    status, queue = await get_json(window.url, "/api/work-queue", jiangshan)
    assert status == 200 and [a["id"] for a in queue["applications"]] == [application["id"]]
    # An item the catalogue keeps in its region is not widened: notarisation has no office there.
    status, reply = await post_json(window.url, "/api/applications", {
        "item": "notarization", "region": "np-pucheng", "category": "contract",
        "applicant_name": "张三", "applicant_phone": "13800138000", "statement": "公证遗嘱"})
    assert status == 422 and reply["error"]["code"] == "no_institution"
    assert citizen
