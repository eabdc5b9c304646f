"""Who may scrape /metrics (docs/security.md, "Metrics and operations").

A configured scraper token (``PARLEY_METRICS_TOKEN``) is the way for a Prometheus anywhere,
loopback included: behind a reverse proxy on the same host every request arrives from
127.0.0.1, so a loopback exemption would open the figures to the internet. Without a token
only a direct loopback connection (no proxy's forwarding header) may scrape; a supervisor's
sign-in token is accepted by the main process's route in either case."""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

# Set by reverse proxies: a request carrying one did not come from this host, whatever the
# socket's peer address says.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host")


def scraper_allowed(request: web.Request, token: bytes | None) -> bool:
    """Whether the request is the configured scraper, or (no token configured) a direct
    connection from this host."""
    if token is not None:
        header = request.headers.get("Authorization", "")
        presented = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        return hmac.compare_digest(presented.encode("utf-8", "replace"), token)
    return direct_loopback(request)


def direct_loopback(request: web.Request) -> bool:
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        return request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        return False
