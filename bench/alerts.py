"""Benchmark the early-warning evaluation (a program, not a test): the shipped rules over a
week of generated contacts, the waiting queue and the running legal clocks, as one round sees
them. Prints the time per round against a baseline measured in the same run (the same contacts
with only the longest-wait rule, which reads the queue alone).

    .venv/bin/python -m bench.alerts --contacts 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from server.alerts.evaluate import ClockDue, Contact, Snapshot, Waiting, evaluate
from server.alerts.rules import Kind, load_rules

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
REGIONS = ("qz-kecheng", "qz-qujiang", "qz-jiangshan", "qz-longyou", "qz-changshan", "qz-kaihua")
CATEGORIES = ("labour", "marriage_family", "neighbour", "contract", "traffic", "consumer")


def snapshot(contacts: int, seed: int) -> Snapshot:
    rng = random.Random(seed)
    rows = []
    for i in range(contacts):
        queued = NOW - timedelta(minutes=rng.uniform(0, 7 * 24 * 60))
        gave_up = rng.random() < 0.06
        rows.append(Contact(f"{i:032x}", queued, rng.choice(CATEGORIES), rng.choice(REGIONS),
                            f"138{rng.randrange(10**6):08d}", abandoned=gave_up,
                            matched_at=None if gave_up else queued + timedelta(
                                seconds=rng.expovariate(1 / 40))))
    waiting = [Waiting(f"w{i}", rng.choice(CATEGORIES), rng.choice(REGIONS),
                       NOW - timedelta(seconds=rng.uniform(0, 400))) for i in range(200)]
    clocks = [ClockDue(f"{i:032x}", "review", "qz-kecheng-legal-aid",
                       date(2026, 3, 2) + timedelta(days=rng.randint(-2, 30))) for i in range(2000)]
    return Snapshot(now=NOW, today=date(2026, 3, 2), waiting=waiting, contacts=rows, clocks=clocks)


def timed(rules: tuple, snap: Snapshot, runs: int) -> tuple[float, int]:  # type: ignore[type-arg]
    times, fired = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        fired = len(evaluate(rules, snap))
        times.append(time.perf_counter() - start)
    return statistics.median(times), fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    snap = snapshot(args.contacts, 7)
    rules = load_rules()
    baseline = tuple(r for r in rules if r.kind is Kind.LONGEST_WAIT)
    base_s, _ = timed(baseline, snap, args.runs)
    all_s, fired = timed(rules, snap, args.runs)
    print(f"{'rules':<28}{'contacts':>10}{'median s/round':>16}{'firings':>9}")
    print(f"{'longest_wait only (base)':<28}{args.contacts:>10}{base_s:>16.4f}{'':>9}")
    print(f"{'all shipped rules':<28}{args.contacts:>10}{all_s:>16.4f}{fired:>9}")
    print(f"ratio all / base: {all_s / base_s:.1f}")


if __name__ == "__main__":
    main()
