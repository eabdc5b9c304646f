"""双随机 (pure): which closed cases are reviewed and by whom, reproducible from the seed."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Closed:
    case_id: str
    handler_id: int


@dataclass(frozen=True)
class Draw:
    case_id: str
    handler_id: int
    reviewer_id: int


def draw(cases: Sequence[Closed], reviewers: Sequence[int], n: int, seed: int) -> list[Draw]:
    """``n`` cases at random and, for each, a random reviewer who did not handle it. The same
    inputs and seed give the same draw (the supervisor can show how it was made)."""
    rng = random.Random(seed)
    pool = sorted(cases, key=lambda c: c.case_id)
    rng.shuffle(pool)
    staff = sorted(set(reviewers))
    out: list[Draw] = []
    for case in pool:
        if len(out) == n:
            break
        eligible = [r for r in staff if r != case.handler_id]
        if eligible:
            out.append(Draw(case.case_id, case.handler_id, rng.choice(eligible)))
    return out


@cache
def checklist() -> Mapping[str, Any]:
    text = resources.files("server.quality").joinpath("checklist.json").read_text("utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


def check_scores(scores: Mapping[str, int]) -> str | None:
    """None when ``scores`` give every checklist item a score within its range; else what is wrong."""
    found = score_problem(scores)
    return found[1] if found else None


def score_problem(scores: Mapping[str, int]) -> tuple[str | None, str] | None:
    """The first item that is missing or out of range (checklist order) and what is wrong, so
    the form can say it by that item; item None for a score of no checklist item."""
    items = {i["code"]: i["max"] for i in checklist()["items"]}
    for code, top in items.items():
        if code not in scores:
            return code, f"score every item: {sorted(items)}"
        value = scores[code]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            return code, f"{code} must be 0-{top}"
    extra = sorted(set(scores) - set(items))
    return (None, f"score every item: {sorted(items)}") if extra else None
