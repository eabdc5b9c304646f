"""What the clerk reads and how they decide (issue 19.4): the application's view carries the
agreement itself — parties by name with masked ID numbers, the terms with obligor and obligee
by name, signatures with their state, the mediation record — and a decision without a written
reason is refused, naming the field."""

from __future__ import annotations

from tests.clients import get_json, post_json
from tests.conftest import Running
from tests.server.agreement_samples import APPLICANT_ID
from tests.signaling.court.test_court_session import COURT, clerk_of, submitted
from tests.signaling.mediation.test_mediation import create_case, staff


async def test_clerk_reads_the_agreement_and_a_decision_needs_a_reason(running: Running
                                                                       ) -> None:
    mediator = await staff(running, "med1", "mediator")
    case_id = await create_case(running, mediator)
    clerk = await clerk_of(running, "clerk1", COURT)
    app_id = await submitted(running, case_id)
    base = f"/api/court/applications/{app_id}"

    status, view = await get_json(running.url, base, clerk)
    assert status == 200, view
    dossier = view["dossier"]
    assert [(p["name"], p["side"]) for p in dossier["parties"]] == [
        ("张三", "applicant"), ("李四", "respondent")]
    masked = dossier["parties"][0]["id_number"]
    assert masked != APPLICANT_ID and masked[-4:] == APPLICANT_ID[-4:] and "*" in masked
    assert APPLICANT_ID not in str(dossier)
    first = dossier["terms"][0]
    assert (first["obligor"], first["obligee"], first["amount"], first["place"],
            first["method"], first["deadline"]) == (
        "李四", "张三", "5000.00", "衢州市柯城区人民调解委员会", "银行转账", "2026-12-31")
    assert dossier["signatures"] == []
    assert dossier["record"]["committee"] == "衢州市柯城区人民调解委员会"
    assert dossier["record"]["mediators"] == ["王调解"] and dossier["record"]["events"] >= 1

    for body in ({"decision": "confirmed"}, {"decision": "confirmed", "reasons": "   "},
                 {"decision": "dismissed", "ground": next(iter(view["grounds"])),
                  "reasons": ""}):
        status, reply = await post_json(running.url, f"{base}/decision", body, clerk)
        assert (status, reply["error"]["code"], reply["error"].get("field")) == (
            400, "bad_request", "reasons"), (body, reply)
    status, view = await get_json(running.url, base, clerk)
    assert view["application"]["status"] == "submitted" and view["application"]["decision"] is None

    status, reply = await post_json(running.url, f"{base}/decision",
                                    {"decision": "confirmed", "reasons": "协议不违反法律规定"}, clerk)
    assert status == 200 and reply["application"]["status"] == "confirmed", reply
