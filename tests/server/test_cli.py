"""The parley command: accounts, verification and retention, as a newcomer would run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.app.cli import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return tmp_path


def test_user_add_and_duplicates(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["user", "add", "--role", "lawyer", "--username", "li", "--password", "long enough",
            "--skills", "labour:5,contract", "--languages", "zh,hak", "--region", "qz-jiangshan"]
    assert main(args) == 0
    assert "created lawyer 'li'" in capsys.readouterr().out
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err


def test_user_add_refuses_unknown_skill(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "add", "--role", "lawyer", "--username", "x", "--password",
                 "long enough", "--skills", "piracy:5"]) == 1
    assert "unknown category 'piracy'" in capsys.readouterr().err


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PARLEY_PORT", "eighty")
    assert main(["db", "upgrade"]) == 2
    assert "PARLEY_PORT" in capsys.readouterr().err


def test_verify_and_purge(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["verify", "recording", "rec-unknown"]) == 1
    missing = data_dir / "nothing.zip"
    assert main(["verify", str(missing)]) == 1
    assert main(["recordings", "purge"]) == 0
    with pytest.raises(SystemExit):
        main(["verify", "recording"])


def test_a_serving_process_keeps_the_collector_off_the_hot_path() -> None:
    import gc

    from signaling.app.cli import GC_YOUNG_THRESHOLD, tune_garbage_collector

    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0  # start-up objects moved out of the collector's sight
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
