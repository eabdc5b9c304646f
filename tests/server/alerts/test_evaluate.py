"""Each rule fires on generated figures, explains itself, and stays quiet just under its
threshold."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from server.alerts.evaluate import ClockDue, Contact, Flag, Snapshot, Waiting, evaluate
from server.alerts.rules import Kind, Rule

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai
TODAY = date(2026, 3, 2)


def snap(**parts: object) -> Snapshot:
    return Snapshot(now=NOW, today=TODAY, **parts)  # type: ignore[arg-type]


def contacts(n: int, *, minutes_ago: tuple[float, float], seed: int, region: str = "qz-kecheng",
             category: str = "labour", abandoned: float = 0.0, wait_s: tuple[float, float] = (5, 30),
             phone: str | None = None) -> list[Contact]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        queued = NOW - timedelta(minutes=rng.uniform(*minutes_ago))
        gave_up = rng.random() < abandoned
        out.append(Contact(
            case_id=f"{seed:04x}{i:028x}", queued_at=queued, category=category, region=region,
            citizen=phone or f"138{rng.randrange(10**8):08d}", abandoned=gave_up,
            matched_at=None if gave_up else queued + timedelta(seconds=rng.uniform(*wait_s))))
    return out


def test_longest_wait_fires_per_queue_with_the_wait_and_the_threshold() -> None:
    rule = Rule("wait", Kind.LONGEST_WAIT, threshold=120)
    waiting = [Waiting("a", "labour", "qz-kecheng", NOW - timedelta(seconds=150)),
               Waiting("b", "family", "qz-kecheng", NOW - timedelta(seconds=119))]
    fired = evaluate([rule], snap(waiting=waiting))
    assert [f.scope for f in fired] == ["all", "queue:labour"]
    explained = fired[1].explanation()
    assert explained == {"rule": "wait", "kind": "longest_wait", "scope": "queue:labour",
                         "severity": "warning", "figures": {"longest_wait_s": 150.0, "waiting": 1},
                         "thresholds": {"threshold": 120}}
    assert evaluate([Rule("wait", Kind.LONGEST_WAIT, threshold=150)], snap(waiting=waiting)) == []


def test_service_level_counts_only_the_window_and_needs_enough_calls() -> None:
    rule = Rule("sl", Kind.SERVICE_LEVEL, threshold=0.8, target_s=60, window_minutes=60,
                min_answered=5, per_category=False)
    slow = contacts(10, minutes_ago=(1, 59), seed=1, wait_s=(61, 200))
    fast = contacts(30, minutes_ago=(1, 59), seed=2, wait_s=(1, 59))
    old_slow = contacts(50, minutes_ago=(61, 300), seed=3, wait_s=(61, 200))
    [fired] = evaluate([rule], snap(contacts=slow + fast + old_slow))
    assert fired.figures == {"service_level": 0.75, "answered": 40, "within_target": 30}
    assert fired.explanation()["thresholds"]["threshold"] == 0.8
    assert evaluate([rule], snap(contacts=slow[:5] + fast + old_slow)) == []  # 30/35 = 0.857
    assert evaluate([rule], snap(contacts=slow[:4])) == []  # four calls say nothing


def test_an_abandonment_spike_is_measured_against_the_hours_before() -> None:
    rule = Rule("spike", Kind.ABANDONMENT_SPIKE, factor=2, window_minutes=30,
                baseline_minutes=360, min_count=3, per_category=False)
    base = contacts(100, minutes_ago=(31, 359), seed=4, abandoned=0.05)
    base_rate = sum(c.abandoned for c in base) / len(base)
    spike = contacts(20, minutes_ago=(0, 29), seed=5, abandoned=0.4)
    [fired] = evaluate([rule], snap(contacts=base + spike))
    rate = sum(c.abandoned for c in spike) / len(spike)
    assert fired.figures["rate"] == round(rate, 3) and rate > 2 * base_rate
    assert fired.figures["baseline_rate"] == round(base_rate, 3)
    assert fired.figures["queued"] == 20 and fired.figures["baseline_queued"] == 100
    calm = contacts(20, minutes_ago=(0, 29), seed=6, abandoned=0.0)
    assert evaluate([rule], snap(contacts=base + calm)) == []


def test_a_region_whose_demand_jumps_is_named() -> None:
    rule = Rule("jump", Kind.REGION_DEMAND, factor=2.5, window_minutes=60, baseline_minutes=1440,
                min_count=5)
    usual = (contacts(46, minutes_ago=(61, 1439), seed=7, region="qz-kecheng")
             + contacts(46, minutes_ago=(61, 1439), seed=8, region="qz-jiangshan"))
    now = (contacts(2, minutes_ago=(0, 59), seed=9, region="qz-kecheng")
           + contacts(12, minutes_ago=(0, 59), seed=10, region="qz-jiangshan"))
    [fired] = evaluate([rule], snap(contacts=usual + now))
    assert fired.scope == "region:qz-jiangshan"
    assert fired.figures == {"contacts": 12, "usual_per_window": 2.0, "baseline_contacts": 46}
    quiet = contacts(5, minutes_ago=(0, 59), seed=11, region="qz-jiangshan")
    assert evaluate([rule], snap(contacts=usual + quiet)) == []  # 5 <= 2.5 x 2


def test_repeated_contacts_from_one_citizen_on_one_dispute() -> None:
    rule = Rule("again", Kind.REPEATED_CONTACTS, min_count=3, window_minutes=7 * 24 * 60)
    same = contacts(3, minutes_ago=(10, 6000), seed=12, phone="13800138000")
    other_dispute = contacts(2, minutes_ago=(10, 600), seed=13, phone="13800138000",
                             category="family")
    others = contacts(20, minutes_ago=(10, 6000), seed=14)
    [fired] = evaluate([rule], snap(contacts=same + other_dispute + others))
    first = min(same, key=lambda c: c.queued_at)
    assert fired.scope == f"dispute:{first.case_id}"
    assert fired.figures["contacts"] == 3 and fired.figures["category"] == "labour"
    assert fired.figures["citizen"] == "138****8000"  # never the whole number
    assert sorted(fired.figures["case_ids"]) == sorted(c.case_id for c in same)
    assert evaluate([rule], snap(contacts=same[:2] + other_dispute + others)) == []


def test_a_legal_clock_about_to_lapse_and_a_flagged_mediation() -> None:
    rules = [Rule("clock", Kind.CLOCK_LAPSING, threshold=2),
             Rule("flag", Kind.MEDIATION_ESCALATING)]
    clocks = [ClockDue("a" * 32, "review", "qz-kecheng-legal-aid", date(2026, 3, 4)),
              ClockDue("b" * 32, "review", "qz-kecheng-legal-aid", date(2026, 3, 5)),
              ClockDue("c" * 32, "supply", "qz-kecheng-legal-aid", date(2026, 3, 1))]
    flags = [Flag("d" * 32, "neighbour", "双方在调解室争吵，有肢体冲突苗头")]
    fired = evaluate(rules, snap(clocks=clocks, flags=flags))
    assert [(f.rule.name, f.figures.get("days_left")) for f in fired] == [
        ("clock", -1), ("clock", 2), ("flag", None)]
    assert fired[0].scope == f"clock:{'c' * 32}:supply"
    assert fired[2].figures["note"].startswith("双方")


def test_disabled_rules_never_fire() -> None:
    rule = Rule("wait", Kind.LONGEST_WAIT, threshold=0, enabled=False)
    waiting = [Waiting("a", "labour", "qz-kecheng", NOW - timedelta(seconds=500))]
    assert evaluate([rule], snap(waiting=waiting)) == []
