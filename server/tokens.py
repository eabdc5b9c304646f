"""Short-lived signed tokens (HMAC-SHA256) for staff sessions and citizens' cases.

Format: ``base64url(json claims).base64url(hmac)``. Claims: ``sub`` (principal), ``kind``
("staff" or "citizen"), ``role``, ``case`` (citizen only), ``exp`` (unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from server.errors import ParleyError


@dataclass(frozen=True)
class Claims:
    sub: str
    kind: str
    role: str
    exp: int
    case: str | None = None
    name: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: Claims, key: bytes) -> str:
    body = _b64(json.dumps(claims.__dict__, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: object, key: bytes, now: float) -> Claims:
    """Return the token's claims, or raise ``token_missing``/``token_invalid``/``token_expired``."""
    if not isinstance(token, str) or not token:
        raise ParleyError("token_missing", "需要登录凭证 / a token is required", 401)
    try:
        body, mac = token.split(".")
        expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("signature mismatch")
        raw: dict[str, Any] = json.loads(_unb64(body))
        claims = Claims(**raw)
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise ParleyError("token_invalid", "凭证无效 / invalid token", 401) from None
    if claims.exp <= now:
        raise ParleyError("token_expired", "凭证已过期，请重新登录 / token expired", 401)
    return claims
