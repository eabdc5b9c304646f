from pathlib import Path

import pytest

from server.config import ConfigError, Settings


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)})
    assert settings.port == 8080
    assert settings.host == "127.0.0.1"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
    assert settings.redis_url is None
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.allow_private_candidates is True


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PARLEY_PORT", "eighty"),
        ("PARLEY_PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://localhost"),
        ("PARLEY_SECRET_KEY", "short"),
        ("PARLEY_ICE_SERVERS", "[{"),
        ("PARLEY_ICE_SERVERS", '[{"url": "stun:x"}]'),
        ("PARLEY_PUBLIC_URL", "ftp://x"),
        ("PARLEY_ICE_ALLOW_PRIVATE", "maybe"),
        ("PARLEY_RECONCILE_INTERVAL_S", "0"),
        ("PARLEY_FAULT_POINT", "accept.after_lunch"),  # a typo must not silently never fire
    ],
)
def test_bad_value_names_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), variable: value})


def test_public_host_disables_private_candidates(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_PUBLIC_URL": "https://parley.example.cn"}
    )
    assert settings.allow_private_candidates is False


def test_crash_safety_settings(tmp_path: Path) -> None:
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)})
    assert settings.reconcile_interval_s == 5.0 and settings.fault_point is None
    armed = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_FAULT_POINT":
                               "accept.after_assign", "PARLEY_RECONCILE_INTERVAL_S": "0.5"})
    assert armed.fault_point == "accept.after_assign" and armed.reconcile_interval_s == 0.5


def test_sip_listener_is_off_unless_set(tmp_path: Path) -> None:
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path)}).sip is None
    assert Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_SIP_LISTEN": ""}).sip is None


def test_sip_settings(tmp_path: Path) -> None:
    sip = Settings.from_env({
        "PARLEY_DATA_DIR": str(tmp_path), "PARLEY_SIP_LISTEN": "127.0.0.1:5071",
        "PARLEY_SIP_PEERS": "10.0.0.0/8, 192.0.2.7", "PARLEY_SIP_TRUNK": "pbx.example:5080",
        "PARLEY_SIP_USER": "parley", "PARLEY_SIP_PASSWORD": "s3cret", "PARLEY_SIP_REGISTER": "1",
        "PARLEY_SIP_PROMPTS": str(tmp_path), "PARLEY_SIP_RTP_PORTS": "30000-30100",
    }).sip
    assert sip is not None and (sip.host, sip.port) == ("127.0.0.1", 5071)
    assert [str(p) for p in sip.peers] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert sip.trunk is not None and (sip.trunk.host, sip.trunk.port) == ("pbx.example", 5080)
    assert sip.trunk.register and sip.trunk.username == "parley"
    assert sip.prompts_dir == tmp_path and sip.rtp_ports == (30000, 30100)
    assert (sip.trunk.domain, sip.trunk.register_expires, sip.trunk.contact) == (None, 3600, None)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"PARLEY_SIP_LISTEN": "127.0.0.1:99999"}, "PARLEY_SIP_LISTEN"),
        ({"PARLEY_SIP_LISTEN": "bad host:5060"}, "PARLEY_SIP_LISTEN"),
        ({"PARLEY_SIP_PEERS": "not-a-net"}, "PARLEY_SIP_PEERS"),
        ({"PARLEY_SIP_USER": "x"}, "PARLEY_SIP_TRUNK"),
        ({"PARLEY_SIP_TRUNK": "pbx:5060", "PARLEY_SIP_USER": "x"}, "PARLEY_SIP_PASSWORD"),
        ({"PARLEY_SIP_TRUNK": "pbx:5060", "PARLEY_SIP_REGISTER": "1"}, "PARLEY_SIP_REGISTER"),
        ({"PARLEY_SIP_PROMPTS": "/nonexistent/prompts"}, "PARLEY_SIP_PROMPTS"),
        ({"PARLEY_SIP_RTP_PORTS": "2000"}, "PARLEY_SIP_RTP_PORTS"),
        ({"PARLEY_SIP_DOMAIN": "x"}, "PARLEY_SIP_TRUNK"),
        ({"PARLEY_SIP_TRUNK": "pbx:5060", "PARLEY_SIP_DOMAIN": "a b"}, "PARLEY_SIP_DOMAIN"),
        ({"PARLEY_SIP_TRUNK": "pbx:5060", "PARLEY_SIP_REGISTER_EXPIRES": "5"},
         "PARLEY_SIP_REGISTER_EXPIRES"),
        ({"PARLEY_SIP_TRUNK": "pbx:5060", "PARLEY_SIP_CONTACT": "bad host"}, "PARLEY_SIP_CONTACT"),
        ({"PARLEY_SIP_LISTEN": "0.0.0.0:5060", "PARLEY_SIP_TRUNK": "pbx:5060",
          "PARLEY_SIP_USER": "x", "PARLEY_SIP_PASSWORD": "y", "PARLEY_SIP_REGISTER": "1"},
         "PARLEY_SIP_CONTACT"),
    ],
)
def test_bad_sip_settings_name_the_variable(tmp_path: Path, extra: dict[str, str], named: str) -> None:
    environ = {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_SIP_LISTEN": "127.0.0.1:5071", **extra}
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(environ)
