"""The supervisor's legal clocks (限时办结) in real Chromium: a deployment whose catalogue warns
from the first day shows the application's review clock in warning, with its date and the days
left, and it leaves the panel once the centre decides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.harness import ServerProcess, new_page, start_server
from tests.e2e.test_mediation import api
from tests.e2e.test_my_cases import login
from tests.e2e.test_one_window import staff
from tests.e2e.test_routing import sign_in_supervisor

SHIPPED = Path(__file__).resolve().parents[2] / "server" / "catalogue" / "data" / "catalogue.toml"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    # The deployment's own catalogue: the legal-aid review warns for its whole course. Its seven
    # calendar days end on a working day (Civil Code Art 203), so they may run 9 days over a
    # weekend and longer over a statutory holiday: warn from 20 days before.
    text = SHIPPED.read_text(encoding="utf-8")
    review = 'code = "review"'
    head, tail = text.split(review, 1)
    tail = tail.replace("warn_days = 2", "warn_days = 20", 1)
    mine = tmp_path / "mine.toml"
    mine.write_text(head + review + tail, encoding="utf-8")
    process = await start_server(tmp_path / "var", {"PARLEY_CATALOGUE": str(mine)})
    try:
        yield process
    finally:
        process.stop()


async def test_the_supervisor_sees_a_clock_in_warning_until_it_is_kept(
        server: ServerProcess, browser: Browser) -> None:
    server.parley("user", "add", "--role", "supervisor", "--username", "boss", "--password",
                  "correct horse battery", "--display-name", "主管")
    staff(server, "legal_aid", "aid1", "qz-kecheng-legal-aid")
    async with aiohttp.ClientSession() as s:
        filed = (await api(s, server.url, "/api/applications", {
            "item": "legal_aid", "region": "qz-kecheng", "category": "labour",
            "applicant_name": "张三", "applicant_phone": "13800138000", "statement": "欠薪",
            "hardship": "statement"}))["application"]
        _, page = await new_page(browser, server.url)
        await page.set_viewport_size({"width": 360, "height": 740})
        await sign_in_supervisor(page)
        row = page.get_by_test_id("sup-clocks").locator(f"li[data-number='{filed['number']}']")
        await expect(row).to_have_attribute("data-state", "warning")
        await expect(row).to_contain_text("审查决定期限")
        await expect(row).to_contain_text("年")
        await expect(row).to_contain_text("还有")
        centre = await login(s, server.url, "aid1")
        await api(s, server.url, f"/api/applications/{filed['id']}/actions/grant",
                  {"version": filed["version"]}, centre)
    await page.reload()
    await expect(page.get_by_test_id("sup-clocks").locator(
        f"li[data-number='{filed['number']}'][data-code='review']")).to_have_count(0)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
