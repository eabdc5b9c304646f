"""The pages are rendered from web/_layout.html (signaling/app/pages.py): every URL serves a whole page
with the shared head and header once, and no page file repeats them."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from signaling.app.pages import PAGES, WEB_DIR
from tests.conftest import Running

URLS = [path.replace("{recording_id}", "rec-1") for path in PAGES]


@pytest.mark.parametrize("url", URLS)
async def test_each_page_is_served_whole_with_the_shared_frame(running: Running,
                                                               url: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(running.url + url) as r:
        assert r.status == 200
        assert r.content_type == "text/html"
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        html = await r.text()
    assert "{%" not in html and "{{" not in html
    for once in ('name="viewport"', 'href="/static/css/app.css"', 'href="/static/favicon.svg"',
                 'data-testid="lang-switch"', 'class="site-header"', "<main"):
        assert html.count(once) == 1, (url, once)
    scripts = re.findall(r'<script type="module" src="/static/js/([a-z_]+\.js)"', html)
    assert len(scripts) == 1 and (WEB_DIR / "js" / scripts[0]).is_file(), scripts
    title = re.search(r'<title data-i18n="([a-z_.]+)">', html)
    assert title is not None


def test_no_page_file_writes_its_own_head_or_header() -> None:
    for name in set(PAGES.values()):
        text = (Path(WEB_DIR) / name).read_text()
        assert text.startswith('{% extends "_layout.html" %}'), name
        for shared in ("<head", "<html", "site-header", "lang-switch", "</body>"):
            assert shared not in text, (name, shared)
