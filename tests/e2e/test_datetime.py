"""web/js/datetime.js in real Chromium (its Intl data): dates in China's time zone whatever the
device's, 今天/明天 only after the date, deadlines with the calendar days left."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from tests.e2e.harness import ServerProcess

# 2026-12-03 09:21 in Shanghai (01:21 UTC).
NOW = "2026-12-03T01:21:00Z"
FORMAT_JS = """async ([now, cases]) => {
  const m = await import('/static/js/datetime.js');
  return cases.map(([fn, value, opts]) => m[fn](value, { now: new Date(now), ...opts }));
}"""

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("formatDateTime", "2026-12-03T01:21:00Z", {}, "2026年12月3日（今天）09:21"),
    ("formatDateTime", "2026-12-03T17:00:00Z", {}, "2026年12月4日（明天）01:00"),  # UTC's 3rd
    ("formatDateTime", "2026-12-10T02:00:00Z", {}, "2026年12月10日 10:00"),
    ("formatDateTime", "2026-12-03T01:21:00Z", {"lang": "en"}, "3 Dec 2026 (today) 09:21"),
    ("formatDateTime", "2026-12-02T01:21:05Z", {"short": True, "seconds": True},
     "12月2日（昨天）09:21:05"),
    ("formatDate", "2027-01-02T01:21:00Z", {"short": True}, "2027年1月2日"),
    ("formatDeadline", "2027-01-02T01:21:00Z", {"time": True}, "2027年1月2日 09:21（还有 30 天）"),
    ("formatDeadline", "2027-01-02T01:21:00Z", {"lang": "en"}, "2 Jan 2027 (30 days left)"),
    ("formatDeadline", "2026-12-03T15:00:00Z", {}, "2026年12月3日（今天截止）"),
    ("formatDeadline", "2026-12-03T00:00:00Z", {}, "2026年12月3日（今天已截止）"),
    ("formatDeadline", "2026-11-30T01:00:00Z", {"lang": "en"}, "30 Nov 2026 (3 days overdue)"),
    ("formatDate", "2026-12-31", {}, "2026年12月31日"),  # a bare date: that day in China
    ("formatDeadline", "2026-12-03", {}, "2026年12月3日（今天截止）"),
    ("formatDateTime", "not a date", {}, ""),
]


async def test_dates_are_shown_with_the_date_in_china_time(server: ServerProcess,
                                                           browser: Browser) -> None:
    # A device set to New York: the dates are still Shanghai's.
    context = await browser.new_context(base_url=server.url, timezone_id="America/New_York")
    page = await context.new_page()
    await page.goto("/agent")
    got = await page.evaluate(FORMAT_JS, [NOW, [[fn, v, o] for fn, v, o, _ in CASES]])
    assert got == [want for *_, want in CASES]
    await context.close()
