"""双随机: reproducible from the seed, never one's own case, every reviewer eligible."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.quality.sampling import Closed, check_scores, draw

cases_st = st.lists(st.builds(Closed, st.uuids().map(lambda u: u.hex), st.integers(1, 6)),
                    max_size=40, unique_by=lambda c: c.case_id)


@given(cases_st, st.lists(st.integers(1, 6), min_size=1, max_size=6), st.integers(0, 50),
       st.integers(0, 2**32))
def test_a_reviewer_never_gets_their_own_case_and_the_seed_reproduces_it(
        cases: list[Closed], reviewers: list[int], n: int, seed: int) -> None:
    first = draw(cases, reviewers, n, seed)
    assert first == draw(list(reversed(cases)), list(reversed(reviewers)), n, seed)
    assert len(first) <= n and len({d.case_id for d in first}) == len(first)
    for d in first:
        assert d.reviewer_id != d.handler_id and d.reviewer_id in reviewers


def test_different_seeds_draw_differently_and_a_lone_handler_is_skipped() -> None:
    cases = [Closed(f"{i:032x}", i % 3 + 1) for i in range(30)]
    assert draw(cases, [1, 2, 3], 5, 1) != draw(cases, [1, 2, 3], 5, 2)
    assert draw([Closed("a" * 32, 1)], [1], 1, 7) == []


def test_scores_follow_the_checklist() -> None:
    good = {"greeting": 2, "identity_check": 1, "legal_accuracy": 4, "options_told": 2, "privacy": 2}
    assert check_scores(good) is None
    assert check_scores({**good, "legal_accuracy": 5}) == "legal_accuracy must be 0-4"
    assert check_scores({"greeting": 1}) is not None
