"""Reports over REST: a consultation served and rated shows in today's report once the job has
run; only supervisors may read or run reports; bad ranges get a 400 naming the field; the CSV and
XLSX exports carry the same figures."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable

import aiohttp

from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running

Connect = Callable[[str | None], Awaitable[SocketClient]]


async def _get(url: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_a_served_contact_reaches_the_report_and_its_exports(running: Running,
                                                                   connect: Connect) -> None:
    await running.add_lawyer("lawyer1", skills={"labour": 5})
    await running.add_lawyer("sup1", role="supervisor")
    lawyer_token, supervisor = await running.login("lawyer1"), await running.login("sup1")
    lawyer = await connect(lawyer_token)
    case_id, citizen_token = await running.intake(category="labour", region="qz-kecheng")
    citizen = await connect(citizen_token)
    await lawyer.wait_for("offer:new")
    assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
    reply = await citizen.call("case:rate", {"score": 2, "comment": "没听懂",
                                             "reasons": ["not_understood"]})
    assert reply.get("ok"), reply
    assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]

    status, done = await post_json(running.url, "/api/reports/aggregate", {}, supervisor)
    assert status == 200 and done["contacts"] == 1 and done["ratings"] == 1, done
    status, report = await get_json(running.url, "/api/reports?range=day", supervisor)
    assert status == 200, report
    totals = report["totals"]
    assert (totals["offered"], totals["answered"], totals["abandoned"]) == (1, 1, 0)
    assert totals["ratings"] == 1 and totals["low_ratings"] == 1
    assert totals["reasons"] == {"not_understood": 1}
    assert report["criticism"]["regions"][0]["region"] == "qz-kecheng"
    [agent] = report["breakdown"]["agent"]
    assert report["names"][agent["key"]] == "lawyer1 律师"
    status, filtered = await get_json(
        running.url, "/api/reports?range=week&dim=region&key=qz-qujiang", supervisor)
    assert status == 200 and filtered["totals"]["offered"] == 0

    status, kind, body = await _get(f"{running.url}/api/reports/export?range=day&format=csv",
                                    supervisor)
    assert status == 200 and kind.startswith("text/csv")
    text = body.decode("utf-8")
    assert text.startswith("\ufeffsection,key,")
    total_line = text.splitlines()[1].split(",")
    assert total_line[0] == "total" and total_line[2:5] == ["1", "1", "0"]
    status, kind, body = await _get(f"{running.url}/api/reports/export?range=month&format=xlsx",
                                    supervisor)
    assert status == 200 and "spreadsheetml" in kind
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        workbook = book.read("xl/workbook.xml").decode()
        assert "批评意见 Criticism" in workbook and "region" in workbook
        strings = book.read("xl/sharedStrings.xml").decode()
        assert "qz-kecheng" in strings and "not_understood" in strings


async def test_only_supervisors_read_and_run_reports(running: Running) -> None:
    await running.add_lawyer("lawyer1")
    await running.add_lawyer("sup1", role="supervisor")
    lawyer = await running.login("lawyer1")
    _, citizen = await running.intake()
    for token, status in ((None, 401), (lawyer, 403), (citizen, 403)):
        assert (await get_json(running.url, "/api/reports", token))[0] == status
        assert (await _get(f"{running.url}/api/reports/export?format=csv", token))[0] == status
        assert (await post_json(running.url, "/api/reports/aggregate", {}, token))[0] == status
    supervisor = await running.login("sup1")
    assert (await get_json(running.url, "/api/reports", supervisor))[0] == 200


async def test_bad_ranges_and_filters_are_refused_with_the_field(running: Running) -> None:
    await running.add_lawyer("sup1", role="supervisor")
    token = await running.login("sup1")
    for query, field in (("range=custom", "from"), ("range=custom&from=2026-11-02&to=2026-11-01", "to"),
                         ("range=custom&from=2024-01-01&to=2026-01-01", "to"),
                         ("range=year", "range"), ("date=2026-13-01", "date"),
                         ("dim=region", "key"), ("dim=planet&key=x", "dim"),
                         ("format=pdf", "format"), ("colour=red", "colour")):
        path = "/api/reports/export" if query.startswith("format") else "/api/reports"
        status, body = await get_json(running.url, f"{path}?{query}", token)
        assert status == 400, (query, body)
        assert body["error"]["code"] == "bad_request" and body["error"]["field"] == field, query
    status, body = await get_json(
        running.url, "/api/reports?range=custom&from=2026-10-01&to=2026-10-31", token)
    assert status == 200 and body["days"] == 31 and len(body["series"]) == 31
