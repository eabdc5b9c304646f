"""The supervisor's reports in real Chromium: contacts made up over this month are folded by
`parley reports aggregate`, and the page's ECharts charts hold exactly their figures (read from
the chart instances) and have drawn them on a canvas; the live chart moves in place with the
figures; it all fits 360 px and a tablet; the printable monthly report carries the criticism by
reason and region, and prints without its controls."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.db import Database
from server.migrate import upgrade
from tests.e2e.harness import PASSWORD, ServerProcess, start_server
from tests.e2e.test_layout import OVERFLOW_JS
from tests.server.reports.generated import REGIONS, SHANGHAI, add_lawyers, expected, local, make, write

CHART_JS = """async (id) => {
  const echarts = await import('/static/vendor/echarts.esm.min.js');
  const node = document.querySelector(`[data-testid="${id}"]`);
  const chart = echarts.getInstanceByDom(node);
  if (!chart) return null;
  const option = chart.getOption();
  const canvas = node.querySelector('canvas');
  let painted = 0;
  if (canvas && canvas.width && canvas.height) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
  }
  return {
    series: option.series.map((s) => ({ id: s.id, data: s.data })),
    categories: (option.yAxis || []).concat(option.xAxis || []).map((a) => a.data || null),
    width: canvas ? canvas.getBoundingClientRect().width : 0,
    painted,
  };
}"""


Seeded = tuple[ServerProcess, list[Any], date]


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Seeded]:
    """This month's contacts written before the server starts (the job reads facts in the order
    they happen: back-dated rows written after a run would fall behind its watermark), then
    folded by `parley reports aggregate`."""
    data = tmp_path / "var"
    raws, first = await _seed(data)
    server = await start_server(data)
    try:
        server.parley("user", "add", "--role", "supervisor", "--username", "boss",
                      "--password", PASSWORD)
        server.parley("reports", "aggregate")
        yield server, raws, first
    finally:
        server.stop()


async def _seed(data: Path) -> tuple[list[Any], date]:
    now = datetime.now(UTC)
    first = local(now).replace(day=1)
    start = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI).astimezone(UTC)
    data.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite+aiosqlite:///{data}/parley.db")
    try:
        await upgrade(db)
        lawyers = await add_lawyers(db)
        # Ended at least ten minutes ago, so none is rated in the future.
        raws = make(random.Random(11), start, 1, 120, lawyers, end=max(start + timedelta(hours=1),
                                                                       now - timedelta(hours=1)))
        raws = [r for r in raws if r.rated_at is None or r.rated_at < now]
        await write(db, raws)
    finally:
        await db.close()
    return raws, first


async def _chart(page: Page, test_id: str) -> dict[str, Any]:
    await expect(page.get_by_test_id(test_id)).to_have_attribute("data-chart", "ready", timeout=15_000)
    found: dict[str, Any] | None = await page.evaluate(CHART_JS, test_id)
    assert found is not None, test_id
    return found


async def _sign_in(page: Page) -> None:
    await page.goto("/supervisor")
    await page.get_by_test_id("login-username").fill("boss")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("reports")).to_be_visible()


async def test_charts_show_the_months_aggregates(seeded: Seeded, browser: Browser) -> None:
    server, raws, first = seeded
    month_end = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    want = expected(raws, first, month_end)
    assert want["offered"]  # the month has contacts to show

    context = await browser.new_context(base_url=server.url, viewport={"width": 1024, "height": 768},
                                        locale="zh-CN")
    page = await context.new_page()
    await _sign_in(page)
    await expect(page.locator('[data-testid="rep-totals"] [data-measure="offered"]')).to_have_text(
        str(want["offered"]), timeout=15_000)

    trend = await _chart(page, "chart-trend")
    series = {s["id"]: s["data"] for s in trend["series"]}
    days = [first + timedelta(days=i) for i in range((month_end - first).days + 1)]
    assert series["offered"] == [expected(raws, d, d)["offered"] for d in days]
    assert series["abandoned"] == [expected(raws, d, d)["abandoned"] for d in days]
    assert trend["painted"] > 500 and trend["width"] > 100

    regions = await _chart(page, "chart-regions")
    offered = {s["id"]: s["data"] for s in regions["series"]}["region_offered"]
    names = regions["categories"][0]
    shown = dict(zip(names, offered, strict=True))
    assert sum(shown.values()) == want["offered"]
    assert sorted(shown.values()) == sorted(
        v for v in (expected(raws, first, month_end, r)["offered"] for r in REGIONS) if v)
    assert regions["painted"] > 500

    waits = await _chart(page, "chart-waits")
    assert sum(waits["series"][0]["data"]) == want["answered"]
    reasons = await _chart(page, "chart-reasons")
    assert sorted(d["value"] for d in reasons["series"][0]["data"]) == sorted(want["reasons"].values())

    # Live: the chart's series grow with each sup:figures on the same chart and canvas.
    live = await _chart(page, "chart-live")
    canvas = await page.get_by_test_id("chart-live").locator("canvas").element_handle()
    before = len(live["series"][0]["data"])
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        later = await page.evaluate(CHART_JS, "chart-live")
        if len(later["series"][0]["data"]) > before:
            break
        assert asyncio.get_running_loop().time() < deadline, "the live chart never moved"
        await page.wait_for_timeout(200)
    assert await canvas.evaluate("(c) => c.isConnected")
    assert later["painted"] > 0

    # A filter: one region's month alone.
    await page.get_by_test_id("rep-dim").select_option("region")
    await page.get_by_test_id("rep-key").select_option(REGIONS[0])
    await page.get_by_test_id("rep-show").click()
    await expect(page.locator('[data-testid="rep-totals"] [data-measure="offered"]')).to_have_text(
        str(expected(raws, first, month_end, REGIONS[0])["offered"]))

    # The printable monthly report, then printed: the controls and the header are not printed.
    await page.get_by_test_id("rep-print").click()
    await expect(page.get_by_test_id("report-title")).to_contain_text(first.strftime("%Y-%m"))
    await expect(page.locator('[data-testid="report-summary"] [data-measure="offered"] td')).to_have_text(
        str(want["offered"]))
    criticism = page.get_by_test_id("report-criticism")
    rated_regions = {r.region for r in raws if r.rated_at is not None and first <= local(r.rated_at)}
    await expect(criticism.locator("tbody tr")).to_have_count(len(rated_regions))
    await expect(criticism).to_contain_text("柯城")
    await expect(page.get_by_test_id("report-reasons")).to_contain_text("没听懂解答")
    await page.emulate_media(media="print")
    await expect(page.get_by_test_id("report-controls")).to_be_hidden()
    await context.close()


async def test_reports_fit_a_phone(seeded: Seeded, browser: Browser) -> None:
    server = seeded[0]
    context = await browser.new_context(base_url=server.url, viewport={"width": 360, "height": 740},
                                        locale="zh-CN")
    page = await context.new_page()
    await _sign_in(page)
    trend = await _chart(page, "chart-trend")
    assert 100 < trend["width"] <= 360 and trend["painted"] > 0
    await page.wait_for_load_state("networkidle")
    found = await page.evaluate(OVERFLOW_JS)
    assert found["scroll"] <= found["inner"] and not found["offenders"], found
    await context.close()
