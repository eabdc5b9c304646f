"""A media-only process (``parley serve --role media``): a registered media worker serving
requests from Redis, plus /healthz and /metrics on its port. No socket.io, no pages, no API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from recordings.setup import RecordingStack
from rooms.messages import GetStats, WorkerStats
from server.config import Settings
from server.db import Database
from server.metrics import gauge, labelled, render
from server.metrics_access import scraper_allowed
from signaling.app.cluster import CLUSTER_KEY, Cluster, ProcessRole

log = logging.getLogger(__name__)


def create_media_app(settings: Settings) -> web.Application:
    app = web.Application()
    cluster = Cluster(settings, ProcessRole.MEDIA)
    database = Database(settings.database_url)
    recording = RecordingStack(settings, database)
    cluster.media_worker(sink=recording.recorder)
    app[CLUSTER_KEY] = cluster
    app[MEDIA_RECORDING_KEY] = recording
    app[MEDIA_DATABASE_KEY] = database

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "role": "media", "worker": cluster.process_id})

    async def metrics(request: web.Request) -> web.Response:
        # No accounts here: the configured scraper token, or without one a direct loopback
        # connection (server.metrics_access).
        if not scraper_allowed(request, settings.metrics_token):
            return web.json_response({"error": {"code": "forbidden",
                                                "message": "metrics need the scraper token"}},
                                     status=403)
        assert cluster.local is not None
        stats = await cluster.local.request(GetStats())
        assert isinstance(stats, WorkerStats)
        text = render([
            gauge("parley_media_rooms", "Rooms on this media worker", stats.rooms),
            gauge("parley_media_peer_connections", "WebRTC peer connections",
                  stats.peer_connections),
            labelled("parley_media_forwarded_frames_total", "counter", "Encoded frames forwarded",
                     "kind", stats.forwarded_frames),
            gauge("parley_media_decoded_frames_total", "Frames the worker decoded (must be 0)",
                  stats.decoded_frames),
            gauge("parley_media_encoded_frames_total", "Frames the worker encoded (must be 0)",
                  stats.encoded_frames),
        ])
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_lifecycle)
    return app


MEDIA_RECORDING_KEY = web.AppKey("media_recording", RecordingStack)
MEDIA_DATABASE_KEY = web.AppKey("media_database", Database)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    cluster = app[CLUSTER_KEY]
    await app[MEDIA_RECORDING_KEY].start()
    await cluster.start()
    yield
    await cluster.close()
    await app[MEDIA_RECORDING_KEY].close()
    await app[MEDIA_DATABASE_KEY].close()
