"""Settings from the environment, parsed and checked in one place.

Nothing else in Parley reads ``os.environ``. A bad value raises ``ConfigError`` naming the
variable, which the CLI prints before exiting.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from limits import parse as parse_limit

from server.faults import POINTS


class ConfigError(Exception):
    """A setting is invalid; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: bytes
    ice_servers: tuple[dict[str, Any], ...]
    public_url: str
    allow_private_candidates: bool
    staff_token_ttl_s: int = 12 * 3600
    citizen_token_ttl_s: int = 7 * 24 * 3600
    lab_inbound_loss: float = 0.0
    lab_estimate_cap_file: Path | None = None  # rooms.media.lab.EstimateCap (tests only)
    # Routing (docs/routing.md): widening, offers, wrap-up, working hours.
    neighbour_after_s: float = 60.0
    any_region_after_s: float = 180.0
    offer_timeout_s: float = 20.0
    wrap_up_s: float = 30.0
    working_hours: str = "always"
    recording_retention_days: int = 365
    default_region: str = "qz-kecheng"
    service_level_s: float = 60.0
    longest_wait_alert_s: float = 120.0
    service_level_alert: float = 0.8
    # Cluster (docs/deploy.md): key prefix in Redis; expiring TURN credentials for browsers.
    redis_prefix: str = "parley"
    turn_secret: bytes | None = None
    turn_urls: tuple[str, ...] = ()
    turn_ttl_s: int = 3600
    # The local notifier's outbox shown to staff at /api/dev/outbox (docs/security.md): for
    # development, where no SMS provider delivers invitation and signing codes.
    dev_outbox: bool = False
    # Crash safety (docs/deploy.md): how often live state is compared with the database; a
    # test's fault point (server/faults.py), never set in production.
    reconcile_interval_s: float = 5.0
    fault_point: str | None = None
    # The bearer token a Prometheus scraper presents at /metrics (docs/security.md).
    metrics_token: bytes | None = None
    # Guessing and floods (docs/security.md): sign-in limits in the ``limits`` package's
    # notation, proxies whose X-Forwarded-For is believed, live sockets per token.
    signin_per_username: str = "10 per 15 minutes"
    signin_per_address: str = "50 per 15 minutes"
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    connections_per_token: int = 5
    # The deployment's service catalogue (docs/one-window.md); None: the shipped one.
    catalogue_path: Path | None = None
    # An SMS provider (docs/telephony.md, "SMS"); None: messages stay in the local outbox.
    sms: SmsSettings | None = None
    # Early warning (docs/early-warning.md): the rules file (None: the shipped one), checked at
    # start; how often the rules are evaluated (once per cluster each time).
    alert_rules_path: Path | None = None
    alert_interval_s: float = 10.0
    # The phone line (docs/telephony.md); None: no SIP listener.
    sip: SipSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        host = environ.get("PARLEY_HOST", "127.0.0.1")
        port = _parse_port(environ.get("PARLEY_PORT", "8080"))
        data_dir = Path(environ.get("PARLEY_DATA_DIR", "var")).resolve()
        database_url = environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'parley.db'}"
        _check_database_url(database_url)
        redis_url = environ.get("REDIS_URL") or None
        if redis_url is not None and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"REDIS_URL must be a redis:// URL, got {redis_url!r}")
        public_url = environ.get("PARLEY_PUBLIC_URL") or f"http://{host}:{port}"
        parsed = urlparse(public_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"PARLEY_PUBLIC_URL must be an http(s) URL, got {public_url!r}")
        return cls(
            host=host,
            port=port,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            secret_key=_secret_key(environ.get("PARLEY_SECRET_KEY"), data_dir),
            ice_servers=_parse_ice_servers(environ.get("PARLEY_ICE_SERVERS")),
            public_url=public_url.rstrip("/"),
            allow_private_candidates=_parse_bool(
                "PARLEY_ICE_ALLOW_PRIVATE",
                environ.get("PARLEY_ICE_ALLOW_PRIVATE"),
                default=_is_private_host(parsed.hostname),
            ),
            lab_inbound_loss=_parse_loss(environ.get("PARLEY_LAB_INBOUND_LOSS")),
            lab_estimate_cap_file=(Path(environ["PARLEY_LAB_ESTIMATE_CAP_FILE"])
                                   if environ.get("PARLEY_LAB_ESTIMATE_CAP_FILE") else None),
            neighbour_after_s=_seconds(environ, "PARLEY_ROUTING_NEIGHBOUR_AFTER_S", 60.0),
            any_region_after_s=_seconds(environ, "PARLEY_ROUTING_ANY_REGION_AFTER_S", 180.0),
            offer_timeout_s=_seconds(environ, "PARLEY_OFFER_TIMEOUT_S", 20.0),
            wrap_up_s=_seconds(environ, "PARLEY_WRAP_UP_S", 30.0),
            working_hours=_choice(environ, "PARLEY_WORKING_HOURS", ("always", "example")),
            recording_retention_days=_days(environ, "PARLEY_RECORDING_RETENTION_DAYS", 365),
            service_level_s=_seconds(environ, "PARLEY_SERVICE_LEVEL_S", 60.0),
            longest_wait_alert_s=_seconds(environ, "PARLEY_LONGEST_WAIT_ALERT_S", 120.0),
            service_level_alert=_share(environ, "PARLEY_SERVICE_LEVEL_ALERT", 0.8),
            redis_prefix=_redis_prefix(environ.get("PARLEY_REDIS_PREFIX")),
            sms=_sms(environ),
            sip=_sip(environ),
            dev_outbox=_parse_bool("PARLEY_DEV_OUTBOX", environ.get("PARLEY_DEV_OUTBOX"),
                                   default=False),
            metrics_token=_metrics_token(environ.get("PARLEY_METRICS_TOKEN")),
            catalogue_path=_catalogue_path(environ.get("PARLEY_CATALOGUE")),
            alert_rules_path=_alert_rules_path(environ.get("PARLEY_ALERT_RULES")),
            alert_interval_s=_interval(environ, "PARLEY_ALERT_INTERVAL_S", 10.0),
            **_turn(environ),
            reconcile_interval_s=_interval(environ, "PARLEY_RECONCILE_INTERVAL_S", 5.0),
            fault_point=_fault_point(environ.get("PARLEY_FAULT_POINT")),
            **_guards(environ),
        )


def _interval(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _seconds(environ, name, default)
    if not 0.1 <= value <= 3600:
        raise ConfigError(f"{name} must be between 0.1 and 3600 seconds, got {value}")
    return value


def _fault_point(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in POINTS:
        raise ConfigError(f"PARLEY_FAULT_POINT must be one of {', '.join(sorted(POINTS))}, "
                          f"got {raw!r}")
    return raw
def _metrics_token(raw: str | None) -> bytes | None:
    if not raw:
        return None
    if len(raw) < 32 or not all(33 <= ord(c) < 127 for c in raw):
        raise ConfigError("PARLEY_METRICS_TOKEN must be at least 32 printable ASCII characters "
                          "without spaces (e.g. `openssl rand -hex 32`)")
    return raw.encode()


def _catalogue_path(raw: str | None) -> Path | None:
    """PARLEY_CATALOGUE: a catalogue file, checked now so a mistake stops start-up with its line."""
    if not raw:
        return None
    from server.catalogue.loader import CatalogueError, load_catalogue_file

    path = Path(raw).resolve()
    try:
        load_catalogue_file(path)
    except CatalogueError as exc:
        raise ConfigError(f"PARLEY_CATALOGUE is not a valid catalogue:\n{exc}") from None
    return path
def _alert_rules_path(raw: str | None) -> Path | None:
    """PARLEY_ALERT_RULES: an early-warning rules file, checked now (a mistake names its line)."""
    if not raw:
        return None
    from server.alerts.rules import RulesError, load_rules

    path = Path(raw).resolve()
    try:
        load_rules(path)
    except (OSError, RulesError) as exc:
        raise ConfigError(f"PARLEY_ALERT_RULES is not a valid rules file ({path}): {exc}"
                          ) from None
    return path


@dataclass(frozen=True)
class SmsSettings:
    url: str
    key_id: str
    secret: str
    sign_name: str
    templates: Mapping[str, str]
    callback_token: str


def _sms(environ: Mapping[str, str]) -> SmsSettings | None:
    """PARLEY_SMS_URL, _KEY_ID, _SECRET, _SIGN_NAME, _TEMPLATES (JSON: our code -> the provider's
    approved code) and _CALLBACK_TOKEN go together; none set: no provider."""
    names = ("URL", "KEY_ID", "SECRET", "SIGN_NAME", "TEMPLATES", "CALLBACK_TOKEN")
    values = {n: environ.get(f"PARLEY_SMS_{n}", "") for n in names}
    if not any(values.values()):
        return None
    missing = [f"PARLEY_SMS_{n}" for n, v in values.items() if not v]
    if missing:
        raise ConfigError(f"an SMS provider needs {', '.join(missing)} as well")
    if urlparse(values["URL"]).scheme not in ("http", "https"):
        raise ConfigError(f"PARLEY_SMS_URL must be an http(s) URL, got {values['URL']!r}")
    try:
        templates = json.loads(values["TEMPLATES"])
    except json.JSONDecodeError:
        templates = None
    if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in templates.items()):
        raise ConfigError("PARLEY_SMS_TEMPLATES must be a JSON object of template codes")
    if len(values["CALLBACK_TOKEN"]) < 16:
        raise ConfigError("PARLEY_SMS_CALLBACK_TOKEN must be at least 16 characters")
    return SmsSettings(values["URL"], values["KEY_ID"], values["SECRET"], values["SIGN_NAME"],
                       templates, values["CALLBACK_TOKEN"])


@dataclass(frozen=True)
class SipTrunk:
    """The PBX or border controller calls come from and callbacks go to."""
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    register: bool = False  # REGISTER with digest auth, for trunks that want it
    # The registration's domain (AOR sip:user@domain, Request-URI sip:domain); None: host.
    domain: str | None = None
    register_expires: int = 3600  # asked for; the registrar's grant decides the refresh
    # Contact host:port the trunk reaches us at, when we listen on 0.0.0.0 or behind NAT.
    contact: tuple[str, int] | None = None


@dataclass(frozen=True)
class SipSettings:
    host: str
    port: int
    # Who may send INVITEs: loopback always, the trunk, and these networks.
    peers: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    trunk: SipTrunk | None = None
    # A deployment's recorded prompts (same file names as the shipped ones); None: shipped.
    prompts_dir: Path | None = None
    region: str | None = None  # phone cases' region (None: PARLEY_DEFAULT_REGION)
    # First and last UDP port of the RTP range (even ports, one per call).
    rtp_ports: tuple[int, int] = (20000, 20999)
    announce_every_s: float = 30.0  # a waiting caller hears their place this often


def _host_port(name: str, raw: str, default_port: int) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep:
        host, port = raw, str(default_port)
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host or not all(c.isalnum() or c in "-." for c in host):
            raise ConfigError(f"{name} must be host:port, got {raw!r}") from None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name} must be host:port with a port 0-65535, got {raw!r}")
    return host, int(port)


def _sip(environ: Mapping[str, str]) -> SipSettings | None:
    """PARLEY_SIP_LISTEN host:port (empty or unset: no phone line; `make run` sets
    127.0.0.1:5060), PARLEY_SIP_PEERS (networks allowed to call in), PARLEY_SIP_TRUNK host:port
    with PARLEY_SIP_USER / _PASSWORD / _REGISTER (and _DOMAIN, _REGISTER_EXPIRES, _CONTACT
    for the registration), PARLEY_SIP_PROMPTS (a directory),
    PARLEY_SIP_REGION, PARLEY_SIP_RTP_PORTS ("20000-20999"), PARLEY_SIP_ANNOUNCE_S."""
    raw = (environ.get("PARLEY_SIP_LISTEN") or "").strip()
    if not raw:
        return None
    host, port = _host_port("PARLEY_SIP_LISTEN", raw, 5060)
    peers = []
    for item in (environ.get("PARLEY_SIP_PEERS") or "").split(","):
        if item.strip():
            try:
                peers.append(ipaddress.ip_network(item.strip()))
            except ValueError:
                raise ConfigError(f"PARLEY_SIP_PEERS must be IP networks, got {item!r}") from None
    trunk = None
    if environ.get("PARLEY_SIP_TRUNK"):
        t_host, t_port = _host_port("PARLEY_SIP_TRUNK", environ["PARLEY_SIP_TRUNK"], 5060)
        user = environ.get("PARLEY_SIP_USER") or None
        password = environ.get("PARLEY_SIP_PASSWORD") or None
        if bool(user) != bool(password):
            raise ConfigError("PARLEY_SIP_USER and PARLEY_SIP_PASSWORD must be set together")
        register = _parse_bool("PARLEY_SIP_REGISTER", environ.get("PARLEY_SIP_REGISTER"), False)
        if register and not user:
            raise ConfigError("PARLEY_SIP_REGISTER needs PARLEY_SIP_USER and PARLEY_SIP_PASSWORD")
        trunk = SipTrunk(t_host, t_port, user, password, register,
                         *_registration(environ, host, register))
    elif any(environ.get(f"PARLEY_SIP_{n}") for n in _REGISTRATION_NAMES):
        raise ConfigError("PARLEY_SIP_USER and PARLEY_SIP_REGISTER need PARLEY_SIP_TRUNK")
    prompts = None
    if environ.get("PARLEY_SIP_PROMPTS"):
        prompts = Path(environ["PARLEY_SIP_PROMPTS"]).resolve()
        if not prompts.is_dir():
            raise ConfigError(f"PARLEY_SIP_PROMPTS must be a directory, got {str(prompts)!r}")
    rtp = (environ.get("PARLEY_SIP_RTP_PORTS") or "20000-20999").partition("-")
    if not (rtp[0].isdigit() and rtp[2].isdigit()
            and 1024 <= int(rtp[0]) < int(rtp[2]) <= 65535):
        raise ConfigError("PARLEY_SIP_RTP_PORTS must read like 20000-20999 (1024-65535)")
    return SipSettings(host, port, tuple(peers), trunk, prompts,
                       environ.get("PARLEY_SIP_REGION") or None, (int(rtp[0]), int(rtp[2])),
                       _interval(environ, "PARLEY_SIP_ANNOUNCE_S", 30.0))


_REGISTRATION_NAMES = ("USER", "REGISTER", "DOMAIN", "REGISTER_EXPIRES", "CONTACT")


def _registration(environ: Mapping[str, str], listen_host: str, register: bool
                  ) -> tuple[str | None, int, tuple[str, int] | None]:
    """PARLEY_SIP_DOMAIN, PARLEY_SIP_REGISTER_EXPIRES (60-86400 s), PARLEY_SIP_CONTACT."""
    domain = (environ.get("PARLEY_SIP_DOMAIN") or "").strip() or None
    if domain is not None and not all(c.isalnum() or c in "-." for c in domain):
        raise ConfigError(f"PARLEY_SIP_DOMAIN must be a host name, got {domain!r}")
    raw = (environ.get("PARLEY_SIP_REGISTER_EXPIRES") or "3600").strip()
    if not raw.isdigit() or not 60 <= int(raw) <= 86400:
        raise ConfigError(f"PARLEY_SIP_REGISTER_EXPIRES must be seconds, 60-86400, got {raw!r}")
    contact = None
    if environ.get("PARLEY_SIP_CONTACT"):
        contact = _host_port("PARLEY_SIP_CONTACT", environ["PARLEY_SIP_CONTACT"], 5060)
    elif register and listen_host in ("0.0.0.0", "::"):
        # The Contact we bind must be an address the trunk can send INVITEs to.
        raise ConfigError("PARLEY_SIP_REGISTER with PARLEY_SIP_LISTEN on all interfaces needs "
                          "PARLEY_SIP_CONTACT (the host:port the trunk reaches Parley at)")
    return domain, int(raw), contact


def _redis_prefix(raw: str | None) -> str:
    prefix = raw or "parley"
    if not all(c.isalnum() or c in "-_.:" for c in prefix) or len(prefix) > 64:
        raise ConfigError(f"PARLEY_REDIS_PREFIX must be letters, digits, -_.: (64 at most), "
                          f"got {prefix!r}")
    return prefix


def _turn(environ: Mapping[str, str]) -> dict[str, Any]:
    """PARLEY_TURN_SECRET and PARLEY_TURN_URLS (comma-separated turn:/turns: URLs) go together."""
    secret = environ.get("PARLEY_TURN_SECRET") or None
    urls = tuple(u.strip() for u in (environ.get("PARLEY_TURN_URLS") or "").split(",") if u.strip())
    if bool(secret) != bool(urls):
        raise ConfigError("PARLEY_TURN_SECRET and PARLEY_TURN_URLS must be set together")
    if any(not u.startswith(("turn:", "turns:", "stun:")) for u in urls):
        raise ConfigError(f"PARLEY_TURN_URLS must be turn:, turns: or stun: URLs, got {urls}")
    ttl = _seconds(environ, "PARLEY_TURN_TTL_S", 3600.0)
    if ttl < 60:
        raise ConfigError(f"PARLEY_TURN_TTL_S must be at least 60 seconds, got {ttl}")
    return {"turn_secret": secret.encode() if secret else None, "turn_urls": urls,
            "turn_ttl_s": int(ttl)}


def _guards(environ: Mapping[str, str]) -> dict[str, Any]:
    """PARLEY_SIGNIN_PER_USERNAME / _PER_ADDRESS ("10 per 15 minutes"), PARLEY_TRUSTED_PROXIES
    (comma-separated networks), PARLEY_CONNECTIONS_PER_TOKEN (1-100)."""
    found: dict[str, Any] = {}
    for name, field in (("PARLEY_SIGNIN_PER_USERNAME", "signin_per_username"),
                        ("PARLEY_SIGNIN_PER_ADDRESS", "signin_per_address")):
        raw = environ.get(name)
        if raw:
            try:
                parse_limit(raw)
            except ValueError:
                raise ConfigError(f"{name} must read like '10 per 15 minutes', got {raw!r}") from None
            found[field] = raw
    proxies = []
    for item in (environ.get("PARLEY_TRUSTED_PROXIES") or "").split(","):
        if item.strip():
            try:
                proxies.append(ipaddress.ip_network(item.strip()))
            except ValueError:
                raise ConfigError(f"PARLEY_TRUSTED_PROXIES must be IP networks, got {item!r}"
                                  ) from None
    found["trusted_proxies"] = tuple(proxies)
    raw = environ.get("PARLEY_CONNECTIONS_PER_TOKEN")
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ConfigError(f"PARLEY_CONNECTIONS_PER_TOKEN must be 1-100, got {raw!r}")
        found["connections_per_token"] = int(raw)
    return found


def _parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PARLEY_PORT must be a number, got {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"PARLEY_PORT must be between 0 and 65535, got {port}")
    return port


def _check_database_url(url: str) -> None:
    scheme = urlparse(url).scheme
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql"):
        raise ConfigError(
            "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"got {url.split('://')[0]!r}"
        )


def _secret_key(raw: str | None, data_dir: Path) -> bytes:
    if raw:
        if len(raw) < 32:
            raise ConfigError("PARLEY_SECRET_KEY must be at least 32 characters")
        return raw.encode()
    # Generated once and kept, so tokens survive a restart.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(key)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


def _parse_ice_servers(raw: str | None) -> tuple[dict[str, Any], ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"PARLEY_ICE_SERVERS must be JSON: {exc}") from None
    if not isinstance(value, list) or not all(
        isinstance(s, dict) and isinstance(s.get("urls"), str | list) for s in value
    ):
        raise ConfigError('PARLEY_ICE_SERVERS must be a JSON list of {"urls": ...} objects')
    return tuple(value)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or value > 86_400:
        raise ConfigError(f"{name} must be between 0 and 86400 seconds, got {value}")
    return value


def _days(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 36_500:
        raise ConfigError(f"{name} must be a whole number of days between 1 and 36500, got {raw!r}")
    return int(raw)


def _share(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be between 0 and 1, got {value}")
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = environ.get(name) or choices[0]
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _parse_loss(raw: str | None) -> float:
    if not raw:
        return 0.0
    try:
        rate = float(raw)
    except ValueError:
        raise ConfigError(f"PARLEY_LAB_INBOUND_LOSS must be a number, got {raw!r}") from None
    if not 0.0 <= rate <= 0.5:
        raise ConfigError(f"PARLEY_LAB_INBOUND_LOSS must be between 0 and 0.5, got {rate}")
    return rate


def _parse_bool(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _is_private_host(hostname: str | None) -> bool:
    """A lab or embedded set-up (loopback, private LAN) needs ICE on private addresses."""
    if hostname in (None, "localhost"):
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return address.is_private or address.is_loopback
