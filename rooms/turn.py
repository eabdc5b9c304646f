"""Expiring TURN credentials (the "TURN REST API", draft-uberti-behave-turn-rest-00), as coturn
checks them with ``use-auth-secret`` and ``static-auth-secret``: the username is
``<unix expiry>:<user>`` and the password is base64(HMAC-SHA1(secret, username)). Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any


def turn_credentials(secret: bytes, urls: Sequence[str], *, now: float, ttl_s: int,
                     user: str = "parley") -> dict[str, Any]:
    """An RTCIceServer dict valid until ``now + ttl_s``."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return {"urls": list(urls), "username": username,
            "credential": base64.b64encode(digest).decode()}
