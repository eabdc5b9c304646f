"""Routing in real Chromium: two citizens with different categories and regions reach the two
right lawyers, a third waits and then overflows to a neighbouring region's lawyer, and the
supervisor's figures move."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess, new_page, start_server
from tests.e2e.test_consultation import sign_in, submit_intake

NEIGHBOUR_AFTER_S = 4


@pytest.fixture
async def routing_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = await start_server(tmp_path / "var", {
        "PARLEY_ROUTING_NEIGHBOUR_AFTER_S": str(NEIGHBOUR_AFTER_S),
        "PARLEY_ROUTING_ANY_REGION_AFTER_S": "3600",
    })
    try:
        yield process
    finally:
        process.stop()


def add_lawyer(server: ServerProcess, name: str, skills: str, region: str) -> None:
    server.parley("user", "add", "--role", "lawyer", "--username", name, "--password", PASSWORD,
                  "--display-name", f"{name}律师", "--skills", skills, "--region", region)


async def accept_offer_for(page: Page, citizen: Page, category_text: str) -> None:
    await expect(page.get_by_test_id("offer-panel")).to_be_visible(timeout=15_000)
    await expect(page.get_by_test_id("offer-category")).to_contain_text(category_text)
    await page.get_by_test_id("offer-accept").click()
    await expect(citizen.get_by_test_id("chat-input")).to_be_visible(timeout=15_000)


async def test_skills_regions_and_overflow(routing_server: ServerProcess, browser: Browser
                                           ) -> None:
    server = routing_server
    add_lawyer(server, "zhang", "labour:5", "qz-kecheng")
    add_lawyer(server, "rui", "marriage_family:5", "qz-jiangshan")
    add_lawyer(server, "nan", "labour:5", "qz-qujiang")  # neighbour of Zhanggong
    server.parley("user", "add", "--role", "supervisor", "--username", "boss",
                  "--password", PASSWORD)
    pages = {}
    for name in ("zhang", "rui", "nan"):
        _, pages[name] = await new_page(browser, server.url)
        await sign_in(pages[name], name)
    _, supervisor = await new_page(browser, server.url)
    await sign_in_supervisor(supervisor)

    _, labour_citizen = await new_page(browser, server.url)
    await submit_intake(labour_citizen, name="劳动者", mode="text", category="labour")
    await accept_offer_for(pages["zhang"], labour_citizen, "劳动争议")

    _, family_citizen = await new_page(browser, server.url)
    await submit_intake(family_citizen, name="家庭成员", mode="text", category="marriage_family",
                        region="qz-jiangshan")
    await accept_offer_for(pages["rui"], family_citizen, "婚姻家庭")
    await expect(pages["nan"].get_by_test_id("offer-panel")).to_be_hidden()

    # A third labour citizen in Zhanggong: its lawyer is busy, the neighbour gets it only later.
    _, third = await new_page(browser, server.url)
    submitted = time.monotonic()
    await submit_intake(third, name="第三位", mode="text", category="labour")
    await expect(supervisor.get_by_test_id("sup-waiting")).to_have_text("1", timeout=10_000)
    await expect(pages["nan"].get_by_test_id("offer-panel")).to_be_visible(timeout=15_000)
    assert time.monotonic() - submitted >= NEIGHBOUR_AFTER_S - 0.5
    await expect(pages["nan"].get_by_test_id("offer-region")).to_contain_text("柯城")
    await accept_offer_for(pages["nan"], third, "劳动争议")
    await expect(supervisor.get_by_test_id("sup-waiting")).to_have_text("0", timeout=10_000)
    await expect(supervisor.get_by_test_id("sup-answered")).to_contain_text("3")


async def sign_in_supervisor(page: Page) -> None:
    await page.goto("/supervisor")
    await page.get_by_test_id("login-username").fill("boss")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("sup-queue-table")).to_be_visible()
