"""Benchmark a three-party mediation room end to end (a program, not a test).

Runs the product as a real process and three real headless Chromium pages (mediator, applicant,
respondent) with fake camera and microphone, and reports:
- time from the mediator's "admit" click to the first decoded remote video frame on the admitted
  party's page (median over --runs runs; the party's page negotiates only once admitted, so
  this includes camera start, the offer, ICE, DTLS and the first keyframe);
- the server process's CPU seconds per second of a 3-party room (each page sends 640x480 video
  and audio and receives the two others: 6 forwarded video streams), measured over --seconds
  from /proc/PID/stat, against the same server's idle CPU and a 2-party room in the same run.

    .venv/bin/python -m bench.mediation --runs 5 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, async_playwright

from bench.call import cpu_seconds
from tests.e2e.harness import PASSWORD, ServerProcess, launch, new_page, start_server, wait_until
from tests.e2e.test_mediation import frames, join, parley_user


async def api(session: aiohttp.ClientSession, url: str, path: str, body: Any,
              token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(url + path, json=body, headers=headers) as response:
        data = await response.json()
        assert response.status in (200, 201), data
        return data


async def new_case(server: ServerProcess, token: str) -> tuple[str, dict[str, dict[str, Any]]]:
    async with aiohttp.ClientSession() as s:
        case = (await api(s, server.url, "/api/mediations", {
            "applicant_name": "张三", "applicant_phone": "13800138000",
            "respondent_name": "李四", "respondent_phone": "13900139000",
            "category": "neighbour", "statement": "bench"}, token))["case"]
        await api(s, server.url, f"/api/mediations/{case['id']}/accept",
                  {"disclosure": "none", "conflict_declared": False}, token)
        invites = {}
        for role, name, id4 in (("applicant", "张三", "123X"), ("respondent", "李四", "5678")):
            invites[role] = await api(s, server.url, f"/api/mediations/{case['id']}/invitations",
                                      {"role": role, "name": name, "id_last4": id4}, token)
            invites[role] |= {"id4": id4, "name": name}
    return case["id"], invites


async def first_frame_after(page: Page, start: float) -> float:
    async def decoded() -> bool:
        return any(v > 0 for k, v in (await frames(page)).items() if k.startswith("slot"))

    await wait_until(decoded, 30, "first remote frame", interval=0.01)
    return time.monotonic() - start


async def cpu_over(server: ServerProcess, seconds: float) -> float:
    cpu0, t0 = cpu_seconds(server.process.pid), time.monotonic()
    await asyncio.sleep(seconds)  # measuring a steady room, not synchronising
    return (cpu_seconds(server.process.pid) - cpu0) / (time.monotonic() - t0)


async def one_run(server: ServerProcess, browser: Browser, token: str, seconds: float
                  ) -> tuple[float, float | None, float | None]:
    case_id, invites = await new_case(server, token)
    contexts = []
    pages = []
    for _ in range(3):
        context, page = await new_page(browser, server.url)
        contexts.append(context)
        pages.append(page)
    mediator, applicant, respondent = pages
    await mediator.goto("/mediator")
    await mediator.get_by_test_id("login-username").fill("bench-med")
    await mediator.get_by_test_id("login-password").fill(PASSWORD)
    await mediator.get_by_test_id("login-submit").click()
    await mediator.get_by_test_id(f"open-case-{case_id}").click()
    await mediator.get_by_test_id("room-enter").click()
    await join(applicant, invites["applicant"])
    start = time.monotonic()
    await mediator.get_by_test_id(f"admit-{invites['applicant']['participant']['id']}").click()
    admitted_s = await first_frame_after(applicant, start)
    two = three = None
    if seconds:
        await asyncio.sleep(2)  # the 2-party room settles
        two = await cpu_over(server, seconds)
        await join(respondent, invites["respondent"])
        await mediator.get_by_test_id(f"admit-{invites['respondent']['participant']['id']}").click()
        await first_frame_after(respondent, time.monotonic())
        await asyncio.sleep(2)  # all six video streams flowing
        three = await cpu_over(server, seconds)
    await mediator.get_by_test_id("end-session").click()
    for context in contexts:
        await context.close()
    return admitted_s, two, three


async def main(runs: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(Path(tmp) / "var")
        try:
            parley_user(server, "bench-med", "mediator")
            async with aiohttp.ClientSession() as s:
                token = (await api(s, server.url, "/api/login",
                                   {"username": "bench-med", "password": PASSWORD}))["token"]
            idle = await cpu_over(server, 5)
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                results = [await one_run(server, browser, token, seconds if i == 0 else 0)
                           for i in range(runs)]
                await browser.close()
        finally:
            server.stop()
    admitted = [r[0] * 1000 for r in results]
    print(f"runs: {runs}")
    print("| measure | median | min | max |")
    print("| --- | --- | --- | --- |")
    print(f"| admit → first remote frame, admitted party (ms) | {statistics.median(admitted):.0f} "
          f"| {min(admitted):.0f} | {max(admitted):.0f} |")
    two, three = results[0][1], results[0][2]
    if two is not None and three is not None:
        print(f"| server CPU-s per s, 2-party room ({seconds:.0f} s) | {two:.3f} | | |")
        print(f"| server CPU-s per s, 3-party room ({seconds:.0f} s) | {three:.3f} | | |")
        print(f"| ratio 3-party / 2-party | {three / two:.2f} | | |")
    print(f"| server CPU-s per s, idle | {idle:.3f} | | |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.seconds))
