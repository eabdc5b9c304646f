"""REST routes of the whole process: the ICE configuration browsers connect with (expiring
TURN credentials) and the metrics (queue, agents, socket events, media worker, database).
``APP_ROUTES`` is the table the access test checks."""

from __future__ import annotations

import time

from aiohttp import web

from rooms.messages import GetStats, WorkerStats
from rooms.turn import turn_credentials
from server.api import database_metrics, principal_of
from server.keys import COUNTERS_KEY, DATABASE_KEY, SETTINGS_KEY
from server.metrics import Metric, gauge, labelled, render, supervisor_metrics
from server.metrics_access import scraper_allowed
from server.policy import Action, require
from server.rest import Auth, Route, register
from signaling.hotline.reconcile import RepairKind
from signaling.hotline.reconciler import ReconcileStats
from signaling.keys import HOTLINE_KEY, MEDIA_KEY, PHONE_DESK_KEY, RECONCILER_KEY
from signaling.telephony.registration import RegState, RegStatus


async def get_config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    servers = list(settings.ice_servers)
    if settings.turn_secret is not None:
        # Expiring credentials (coturn's use-auth-secret): nothing long-lived reaches a browser.
        servers.append(turn_credentials(settings.turn_secret, settings.turn_urls, now=time.time(),
                                        ttl_s=settings.turn_ttl_s))
    return web.json_response({"ice_servers": servers})


def sip_metrics(status: RegStatus) -> list[Metric]:
    """The registration with the trunk (PARLEY_SIP_REGISTER; state "off" without it)."""
    return [
        Metric("parley_sip_registration", "gauge", "Registration with the SIP trunk, by state",
               tuple(({"state": s.value}, float(s is status.state)) for s in RegState)),
        gauge("parley_sip_registration_granted_seconds", "Seconds the registrar granted",
              status.granted_s),
        gauge("parley_sip_registration_failures_total", "Failed REGISTER exchanges",
              status.failures_total),
    ]


async def get_metrics(request: web.Request) -> web.Response:
    # The configured scraper token (or, without one, a direct loopback connection); else a
    # supervisor's sign-in (server.metrics_access, docs/security.md).
    if not scraper_allowed(request, request.app[SETTINGS_KEY].metrics_token):
        require(principal_of(request), Action.READ_METRICS)
    live = await request.app[HOTLINE_KEY].live_figures()
    stats = await request.app[MEDIA_KEY].request(GetStats())
    counters = request.app[COUNTERS_KEY]
    metrics = [
        gauge("parley_queue_waiting", "Cases waiting in the queue", live["waiting"]),
        gauge("parley_agents_on_duty", "Lawyers online and available or in a call (this process)",
              live["agents_on_duty"]),
        gauge("parley_agents_free", "Lawyers online and free (this process)", live["agents_free"]),
        labelled("parley_socket_events_total", "counter", "Socket events handled", "event",
                 dict(counters.events)),
        labelled("parley_socket_errors_total", "counter", "Socket events refused, by error code",
                 "code", dict(counters.errors)),
        *supervisor_metrics(await request.app[HOTLINE_KEY].figures()),
        *database_metrics(request.app[DATABASE_KEY]),
        *reconcile_metrics(request.app[RECONCILER_KEY].stats),
    ]
    if PHONE_DESK_KEY in request.app:
        metrics += sip_metrics(request.app[PHONE_DESK_KEY].registration_status)
    if isinstance(stats, WorkerStats):
        metrics += [
            gauge("parley_media_rooms", "Rooms on this media worker", stats.rooms),
            gauge("parley_media_peer_connections", "WebRTC peer connections", stats.peer_connections),
            labelled("parley_media_forwarded_frames_total", "counter", "Encoded frames forwarded",
                     "kind", stats.forwarded_frames),
            gauge("parley_media_decoded_frames_total", "Frames the worker decoded (must be 0)",
                  stats.decoded_frames),
            gauge("parley_media_encoded_frames_total", "Frames the worker encoded (must be 0)",
                  stats.encoded_frames),
            gauge("parley_media_keyframe_requests_total", "Keyframe requests sent to publishers",
                  stats.keyframe_requests),
        ]
    return web.Response(text=render(metrics), content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Version": "0.0.4"})


# Every route and the action it performs; the access test checks the actions.
APP_ROUTES = (
    Route("GET", "/api/config", get_config, "Browser configuration", auth=Auth.PUBLIC,
          returns="{ice_servers: [RTCIceServer]} with expiring TURN credentials", tag="app"),
    Route("GET", "/metrics", get_metrics, "Prometheus metrics", action=Action.READ_METRICS,
          auth=Auth.LOOPBACK_OR_BEARER, content_type="text/plain", tag="app",
          returns="Prometheus text exposition format 0.0.4"),
)


def add_app_routes(app: web.Application) -> None:
    register(app, APP_ROUTES)


def reconcile_metrics(stats: ReconcileStats) -> list[Metric]:
    repairs = {kind.value: stats.repairs.get(kind.value, 0) for kind in RepairKind}
    return [
        gauge("parley_reconcile_runs_total", "Reconciliation passes (live state vs database)",
              stats.runs),
        labelled("parley_reconcile_repairs_total", "counter",
                 "Disagreements repaired, by kind (docs/deploy.md)", "kind", repairs),
        gauge("parley_reconcile_failures_total", "Repairs that failed (retried next pass)",
              stats.failures),
        gauge("parley_reconcile_seconds_total", "Time spent reconciling", stats.seconds_total),
        gauge("parley_reconcile_last_seconds", "Duration of the last pass", stats.last_seconds),
    ]
