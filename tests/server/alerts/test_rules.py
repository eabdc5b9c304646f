"""The early-warning rules file: the shipped one loads; mistakes are refused with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.alerts.rules import SHIPPED, Kind, RulesError, Severity, load_rules, parse_rules
from server.config import ConfigError, Settings


def test_the_shipped_rules_cover_every_kind() -> None:
    rules = load_rules()
    assert {r.kind for r in rules} == set(Kind)
    longest = next(r for r in rules if r.name == "longest_wait")
    assert longest.threshold == 120 and longest.severity is Severity.WARNING


GOOD = '''[[rule]]
name = "wait"
kind = "longest_wait"
threshold = 60
'''


@pytest.mark.parametrize(("text", "line", "words"), [
    (GOOD + '\n[[rule]]\nname = "sl"\nkind = "service_level"\nthreshold = 80\n'
     'target_s = 60\nwindow_minutes = 60\n', 9, "share"),
    (GOOD + '\n[[rule]]\nname = "x"\nkind = "queue_on_fire"\n', 8, "kind must be one of"),
    (GOOD + '\n[[rule]]\nname = "wait"\nkind = "longest_wait"\nthreshold = 1\n', 7, "used twice"),
    (GOOD + 'thresold = 3\n', 4 + 1, "unknown key 'thresold'"),
    (GOOD.replace("threshold = 60", 'threshold = "sixty"'), 4, "must be a number"),
    (GOOD + '\n[[rule]]\nname = "spike"\nkind = "abandonment_spike"\nfactor = 0.5\n'
     'window_minutes = 30\nbaseline_minutes = 360\n', 9, "factor must be > 1"),
    (GOOD + '\n[[rule]]\nname = "spike"\nkind = "region_demand"\nfactor = 2\n'
     'window_minutes = 60\nbaseline_minutes = 30\n', 11, "baseline_minutes must exceed"),
    (GOOD + '\n[[rule]]\nname = "rep"\nkind = "repeated_contacts"\nwindow_minutes = 60\n', 6,
     "needs ['min_count']"),
    (GOOD + 'severity = "loud"\n', 5, "severity must be"),
    (GOOD + 'name = "again"\n', 5, ""),  # TOML itself: a key defined twice
])
def test_a_mistake_names_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert caught.value.line == line, str(caught.value)
    assert words in str(caught.value)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(RulesError, match="no \\[\\[rule\\]\\] tables"):
        parse_rules("# nothing\n")


def test_a_bad_rules_file_stops_start_up_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text(GOOD + 'threshold_s = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 5"):
        Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_ALERT_RULES": str(bad)})
    good = tmp_path / "good.toml"
    good.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path),
                                  "PARLEY_ALERT_RULES": str(good)})
    assert settings.alert_rules_path == good.resolve()
