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
