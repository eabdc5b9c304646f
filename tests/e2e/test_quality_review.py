"""Quality review (质量评查, 双随机) from the browser, in real Chromium: a recorded video
consultation ends; one supervisor draws a sample on /supervisor with a seed; the drawn reviewer,
a second supervisor, opens it, plays its recording, scores it with one bad field first (the
error is said by that field); the lawyer sees the result on /agent and answers once; the
reviewer sees the answer. Every view fits 360 px and 1280x800."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, ViewportSize, expect

from server.quality.sampling import Closed, draw
from tests.clients import SocketClient, get_json, intake_body, post_json
from tests.e2e.harness import PASSWORD, ServerProcess, new_page, wait_video_playing
from tests.e2e.scene import staff_sign_in
from tests.e2e.test_consultation import consent_to_recording, sign_in, submit_intake, take_next
from tests.e2e.test_layout import DESK, PHONE, context, fits

SCORES = {"greeting": "2", "identity_check": "2", "legal_accuracy": "3", "options_told": "1",
          "privacy": "2"}


def _size(viewport: dict[str, int]) -> ViewportSize:
    return {"width": viewport["width"], "height": viewport["height"]}


async def _login(server: ServerProcess, username: str) -> dict[str, Any]:
    status, body = await post_json(server.url, "/api/login",
                                   {"username": username, "password": PASSWORD})
    assert status == 200, body
    return dict(body)


async def _user_id(server: ServerProcess, username: str) -> int:
    return int((await _login(server, username))["user"]["id"])


async def _token(server: ServerProcess, username: str) -> str:
    return str((await _login(server, username))["token"])


async def _recorded_consultation(browser: Browser, server: ServerProcess) -> tuple[str, Page]:
    """A video consultation both sides agreed to record, ended by the lawyer; the lawyer's page."""
    _, citizen = await new_page(browser, server.url)
    _, lawyer = await new_page(browser, server.url)
    await submit_intake(citizen)
    case_id = await citizen.get_by_test_id("queue-case-id-value").get_attribute("data-full")
    assert case_id
    await sign_in(lawyer, "lawyer1")
    await take_next(lawyer)
    await wait_video_playing(lawyer)
    await consent_to_recording(citizen, lawyer)
    await wait_video_playing(lawyer)  # some of it recorded
    await citizen.get_by_test_id("hangup").click()
    await lawyer.get_by_test_id("case-outcome").select_option("answered")
    await lawyer.get_by_test_id("end-case").click()
    await expect(lawyer.get_by_test_id("recording-link")).to_be_visible(timeout=15_000)
    await citizen.context.close()
    return case_id, lawyer


async def test_draw_score_answer_from_the_pages(server: ServerProcess, browser: Browser) -> None:
    server.add_lawyer("lawyer1", display_name="李律师")
    for username, name in (("boss1", "督导 甲"), ("boss2", "督导 乙")):
        server.parley("user", "add", "--role", "supervisor", "--username", username,
                      "--password", PASSWORD, "--display-name", name)
    case_id, lawyer = await _recorded_consultation(browser, server)

    # A seed that gives the case to boss2: the draw is reproducible from its seed, so the test
    # can pick one (the sampler itself is tested in tests/server/test_quality_sampling.py).
    ids = {u: await _user_id(server, u) for u in ("lawyer1", "boss1", "boss2")}
    seed = next(s for s in range(100) if draw([Closed(case_id, ids["lawyer1"])],
                                              list(ids.values()), 1, s)[0].reviewer_id
                == ids["boss2"])

    drawer = await (await context(browser, server, DESK)).new_page()
    await staff_sign_in(drawer, "/supervisor", "boss1")
    panel = drawer.get_by_test_id("qa-section")
    await expect(panel).to_contain_text("质量评查")
    await panel.get_by_test_id("qa-n").fill("0")  # refused by its field
    await panel.get_by_test_id("qa-draw-submit").click()
    await expect(panel.get_by_test_id("qa-n-error")).to_contain_text("1 到 100")
    await panel.get_by_test_id("qa-n").fill("3")
    await panel.get_by_test_id("qa-seed").fill(str(seed))
    await panel.get_by_test_id("qa-draw-submit").click()
    await expect(panel.get_by_test_id("qa-drawn")).to_contain_text(f"随机种子 {seed}")
    await expect(panel.get_by_test_id("qa-drawn")).to_contain_text("已抽取 1 件")
    row = panel.locator(f'[data-testid="qa-row"][data-case="{case_id}"]')
    await expect(row).to_contain_text("李律师")
    await expect(row.get_by_test_id("qa-reviewer")).to_have_text("督导 乙")
    await expect(row.get_by_test_id("qa-state")).to_have_text("待评查")
    await fits(drawer, "quality panel drawn")
    # Not the drawer's to score: opening it shows who will.
    await row.get_by_test_id("qa-open").click()
    await expect(panel.get_by_test_id("qa-detail")).to_contain_text("等待 督导 乙 评查")
    await expect(panel.get_by_test_id("qa-form")).to_have_count(0)

    reviewer = await (await context(browser, server, PHONE)).new_page()
    await staff_sign_in(reviewer, "/supervisor", "boss2")
    mine = reviewer.locator(f'[data-testid="qa-row"][data-case="{case_id}"]')
    await mine.get_by_test_id("qa-open").click()
    detail = reviewer.get_by_test_id("qa-detail")
    await expect(detail.get_by_test_id("qa-detail-case")).to_have_attribute("data-full", case_id)
    # The recording plays in the existing playback page, with this supervisor's sign-in.
    async with reviewer.expect_popup() as popup:
        await detail.get_by_test_id("qa-recording-link").click()
    playback = await popup.value
    await expect(playback.locator('[data-view="playback"]')).to_be_visible(timeout=15_000)
    await expect(playback.get_by_test_id("recording-case-id")).to_have_attribute("data-full",
                                                                             case_id)
    await playback.close()

    for code, value in {**SCORES, "privacy": "9"}.items():
        await detail.get_by_test_id(f"qa-score-{code}").fill(value)
    await detail.get_by_test_id("qa-note-input").fill("未告知可申请调解")
    await fits(reviewer, "quality scoring form")
    await detail.get_by_test_id("qa-submit").click()
    privacy = detail.get_by_test_id("qa-score-privacy")
    await expect(detail.get_by_test_id("qa-score-privacy-error")).to_contain_text("0 到 2")
    await expect(privacy).to_have_attribute("aria-invalid", "true")
    await expect(detail.get_by_test_id("qa-score-greeting")).not_to_have_attribute(
        "aria-invalid", "true")
    await privacy.fill("2")
    await expect(detail.get_by_test_id("qa-score-privacy-error")).to_be_hidden()
    await detail.get_by_test_id("qa-submit").click()
    await expect(mine.get_by_test_id("qa-state")).to_have_text("已评查，待答复")
    await expect(detail.get_by_test_id("qa-total")).to_have_text("总分 10 / 12")
    await expect(detail.get_by_test_id("qa-no-answer")).to_be_visible()

    # The lawyer: the result on the console, answered once.
    await lawyer.set_viewport_size(_size(PHONE))
    await lawyer.reload()
    result = lawyer.get_by_test_id("qa-mine-row")
    await expect(result).to_be_visible()
    await expect(result.get_by_test_id("qa-result-privacy")).to_have_text("2 / 2")
    await expect(result.get_by_test_id("qa-result-legal_accuracy")).to_have_text("3 / 4")
    await expect(result.get_by_test_id("qa-note")).to_contain_text("未告知可申请调解")
    await result.get_by_test_id("qa-answer-submit").click()  # empty: said by the box
    await expect(result.get_by_test_id("qa-answer-input")).to_have_attribute("aria-invalid", "true")
    await result.get_by_test_id("qa-answer-input").fill("已电话回访，补充告知调解途径")
    await fits(lawyer, "my quality reviews")
    await result.get_by_test_id("qa-answer-submit").click()
    await expect(result.get_by_test_id("qa-answer")).to_contain_text("已电话回访")
    await expect(result.get_by_test_id("qa-answer-input")).to_have_count(0)  # once only

    # The reviewer sees the answer.
    await reviewer.reload()
    await expect(mine.get_by_test_id("qa-state")).to_have_text("已答复")
    await mine.get_by_test_id("qa-open").click()
    await expect(detail.get_by_test_id("qa-answer")).to_contain_text("补充告知调解途径")
    await fits(reviewer, "quality review answered")
    await reviewer.set_viewport_size(_size(DESK))
    await fits(reviewer, "quality review answered")
    # English second: the same panel in English.
    await reviewer.get_by_test_id("lang-switch").select_option("en")
    await expect(mine.get_by_test_id("qa-state")).to_have_text("Answered")
    await expect(detail.get_by_test_id("qa-total")).to_have_text("Total 10 / 12")

    # Signed out and in again on the same page, one click draws once (the form's listeners
    # went with the first session).
    await drawer.get_by_test_id("sign-out").click()
    await drawer.get_by_test_id("login-username").fill("boss1")
    await drawer.get_by_test_id("login-password").fill(PASSWORD)
    await drawer.get_by_test_id("login-submit").click()
    await panel.get_by_test_id("qa-seed").fill(str(seed))
    posts: list[str] = []
    drawer.on("request", lambda r: posts.append(r.url) if r.method == "POST"
              and r.url.endswith("/api/quality/samples") else None)
    await panel.get_by_test_id("qa-draw-submit").click()
    await expect(panel.get_by_test_id("qa-drawn")).to_contain_text(f"随机种子 {seed}")
    await drawer.wait_for_load_state("networkidle")
    assert len(posts) == 1, posts
    await expect(panel.locator(f'[data-testid="qa-row"][data-case="{case_id}"]')).to_have_count(2)


async def test_a_lawyer_drawn_as_reviewer_scores_on_the_console(server: ServerProcess,
                                                                browser: Browser) -> None:
    server.add_lawyer("lawyer1", display_name="李律师")
    server.add_lawyer("lawyer2", display_name="王律师")
    server.parley("user", "add", "--role", "supervisor", "--username", "boss1",
                  "--password", PASSWORD)
    status, intake = await post_json(server.url, "/api/intake", intake_body(mode="text"))
    assert status == 201
    case_id = intake["case_id"]
    lawyer = SocketClient(server.url)
    try:
        await lawyer.connect(await _token(server, "lawyer1"))
        await lawyer.wait_for("offer:new", timeout=15)
        assert (await lawyer.call("offer:accept", {"case_id": case_id}))["ok"]
        assert (await lawyer.call("case:end", {"case_id": case_id, "outcome": "answered"}))["ok"]
    finally:
        await lawyer.close()
    ids = {u: await _user_id(server, u) for u in ("lawyer1", "lawyer2", "boss1")}
    seed = next(s for s in range(100) if draw([Closed(case_id, ids["lawyer1"])],
                                              list(ids.values()), 1, s)[0].reviewer_id
                == ids["lawyer2"])
    status, _ = await post_json(server.url, "/api/quality/samples", {"n": 1, "seed": seed},
                                await _token(server, "boss1"))
    assert status == 201

    page = await (await context(browser, server, PHONE)).new_page()
    await staff_sign_in(page, "/agent", "lawyer2")
    todo = page.get_by_test_id("qa-todo-row")
    await expect(todo).to_contain_text("李律师")
    await expect(todo.get_by_test_id("qa-no-recording")).to_be_visible()  # a text consultation
    await todo.get_by_test_id("qa-submit").click()  # nothing scored: every item says so
    await expect(todo.get_by_test_id("qa-score-greeting-error")).to_contain_text("请为此项评分")
    await expect(todo.get_by_test_id("qa-score-privacy-error")).to_contain_text("请为此项评分")
    for code, value in SCORES.items():
        await todo.get_by_test_id(f"qa-score-{code}").fill(value)
    await fits(page, "lawyer scoring a colleague's case")
    await todo.get_by_test_id("qa-submit").click()
    await expect(todo).to_have_count(0)
    await expect(page.get_by_test_id("qa-mine-empty")).to_be_visible()
    status, listed = await get_json(server.url, "/api/quality/reviews",
                                    await _token(server, "lawyer1"))
    assert status == 200 and listed["reviews"][0]["total"] == 10
