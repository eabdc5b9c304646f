"""The web pages (docs/ui.md): each page in ``web/`` extends ``web/_layout.html`` and is rendered
at serve time with Jinja2, so the head and header every page shares are written once. Pages hold
no request data: the rendering only assembles the frame, and everything live comes from the
page's own script."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

# URL -> template in web/.
PAGES = {
    "/": "index.html",
    "/agent": "agent.html",
    "/mediator": "mediator.html",
    "/join": "join.html",
    "/supervisor": "supervisor.html",
    "/court": "court.html",
    "/recordings/{recording_id}": "recording.html",
    "/apply": "apply.html",
    "/my": "my.html",
    "/desk": "desk.html",
    "/reports/monthly": "report.html",
}


def add_pages(app: web.Application) -> None:
    """The page routes and ``/static/`` (scripts, styles, translations, vendor files)."""
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(WEB_DIR),
                         autoescape=jinja2.select_autoescape(default=True),
                         undefined=jinja2.StrictUndefined)
    for path, template in PAGES.items():
        app.router.add_get(path, _page(template))
    app.router.add_static("/static/", WEB_DIR, follow_symlinks=False)


def _page(template: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template(template, request, {})

    return serve
