"""Documents shared in a caucus (issue 14, point 1): the group apart neither sees them nor
their names, in the case view, a download or a push; the mediator sees them; shown later in
the joint session, they reach everyone then present."""

from __future__ import annotations

import json

from tests.clients import get_json
from tests.conftest import Running
from tests.signaling.mediation.test_mediation import (  # noqa: F401
    PNG,
    Setup,
    _remember_app,
    _upload,
    setup,
)

NAME = "申请人底线报价.png"


async def test_a_caucus_document_stays_in_its_group(running: Running,
                                                   setup: Setup) -> None:  # noqa: F811
    s = setup
    assert s.applicant.client is not None and s.respondent.client is not None
    reply = await s.mediator.call("mediation:caucus", {"case_id": s.case_id,
                                                       "with_side": "applicant"})
    assert reply["ok"], reply
    await s.respondent.client.wait_for("mediation:state", lambda v: v["caucus"]["active"])
    status, doc = await _upload(running, s.case_id, s.applicant.token, PNG, NAME)
    assert status == 201, doc

    def listed(view: dict[str, object]) -> list[str]:
        return [d["id"] for d in view["documents"]]  # type: ignore[index, union-attr]

    _, theirs = await get_json(running.url, f"/api/mediations/{s.case_id}", s.respondent.token)
    assert doc["id"] not in listed(theirs) and NAME not in json.dumps(theirs, ensure_ascii=False)
    status, body = await get_json(running.url,
                                  f"/api/mediations/{s.case_id}/documents/{doc['id']}",
                                  s.respondent.token)
    assert (status, body["error"]["code"]) == (404, "not_found")
    for token in (s.mediator_token, s.applicant.token):
        _, view = await get_json(running.url, f"/api/mediations/{s.case_id}", token)
        assert doc["id"] in listed(view)
    # The mediator shows it in the joint session: now the respondent has it too.
    assert (await s.mediator.call("mediation:caucus_end", {"case_id": s.case_id}))["ok"]
    await s.respondent.client.wait_for("mediation:state", lambda v: not v["caucus"]["active"])
    shown = await s.mediator.call("mediation:show_document", {"case_id": s.case_id,
                                                         "document_id": doc["id"]})
    assert shown["ok"], shown
    await s.respondent.client.wait_for("mediation:document",
                                       lambda e: e["document"]["id"] == doc["id"])
    _, theirs = await get_json(running.url, f"/api/mediations/{s.case_id}", s.respondent.token)
    assert doc["id"] in listed(theirs)
