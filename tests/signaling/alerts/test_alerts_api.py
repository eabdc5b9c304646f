"""Early warning through the running server: a waiting citizen and a flagged mediation raise
explained alerts, pushed to supervisors; a named supervisor acknowledges once; others may not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from server.config import Settings
from signaling.alerts.api import ALERT_WATCH_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running, serving
from tests.signaling.mediation.test_mediation import create_case, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]

RULES = '''
[[rule]]
name = "anyone_waiting"
kind = "longest_wait"
threshold = 0
per_category = false

[[rule]]
name = "mediation_escalating"
kind = "mediation_escalating"
severity = "critical"
'''


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    return Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                              "PARLEY_ALERT_RULES": str(rules),
                              "PARLEY_ALERT_INTERVAL_S": "3600"})  # rounds run by the test


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with serving(settings) as found:
        yield found


async def test_alerts_explain_why_and_a_named_supervisor_acknowledges(
        running: Running, connect: Connect) -> None:
    await running.add_lawyer("sup1", role="supervisor", display_name="值班长 王")
    sup = await running.login("sup1")
    mediator = await staff(running, "med1", "mediator")
    lawyer = await staff(running, "law1", "lawyer")
    watcher = await connect(sup)
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    taker = await connect(await running.login("lawyer1"))
    case_id, _ = await running.intake(category="labour")
    await taker.wait_for("offer:new")
    assert (await taker.call("offer:accept", {"case_id": case_id}))["ok"]
    reply = await taker.call("case:transfer", {"case_id": case_id, "category": "contract",
                                               "note": "合同问题为主"})
    assert reply["ok"], reply  # back in the queue: still waiting, and a transfer to show
    mediation_id = await create_case(running, mediator)
    status, _ = await post_json(running.url, f"/api/mediations/{mediation_id}/risk",
                                {"note": "一方扬言报复"}, mediator)
    assert status == 200

    watch = running.app[ALERT_WATCH_KEY]
    assert await watch.round() == 2
    assert await watch.round() == 0  # still open: not raised again
    pushed = await watcher.wait_for("alert:raised", lambda a: a["rule"] == "mediation_escalating")
    assert pushed["explanation"]["figures"] == {"case_id": mediation_id, "category": "neighbour",
                                                "note": "一方扬言报复"}

    status, board = await get_json(running.url, "/api/alerts", sup)
    assert status == 200
    by_rule = {a["rule"]: a for a in board["alerts"]}
    waiting = by_rule["anyone_waiting"]
    assert waiting["open"] and waiting["acked"] is None
    assert waiting["explanation"]["thresholds"] == {"threshold": 0}
    assert waiting["explanation"]["figures"]["waiting"] == 1
    assert by_rule["mediation_escalating"]["severity"] == "critical"
    assert board["escalations"][0]["case_id"] == mediation_id
    [transfer] = board["events"]
    assert transfer["case_id"] == case_id and transfer["kind"] == "transferred"

    for token in (lawyer, mediator):
        status, reply = await get_json(running.url, "/api/alerts", token)
        assert status == 403 and reply["error"]["code"] == "forbidden"
        status, reply = await post_json(running.url, f"/api/alerts/{waiting['id']}/ack", {}, token)
        assert status == 403

    status, acked = await post_json(running.url, f"/api/alerts/{waiting['id']}/ack",
                                    {"note": "已加派律师"}, sup)
    assert status == 200, acked
    assert acked["acked"]["by"] == "值班长 王" and acked["acked"]["note"] == "已加派律师"
    seen = await watcher.wait_for("alert:acked")
    assert seen["id"] == waiting["id"]
    status, reply = await post_json(running.url, f"/api/alerts/{waiting['id']}/ack", {}, sup)
    assert status == 404 and reply["error"]["code"] == "not_found"
    for bad in ("x", "²", "9" * 40):
        status, reply = await post_json(running.url, f"/api/alerts/{bad}/ack", {}, sup)
        assert status == 404
    status, reply = await post_json(running.url, f"/api/alerts/{waiting['id']}/ack",
                                    {"note": "x" * 501}, sup)
    assert status == 400
