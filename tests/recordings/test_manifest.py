"""The manifest's hash chain (pure)."""

from __future__ import annotations

import copy
import itertools

from recordings.manifest import render
from server.hashchain import GENESIS, chain_problems, next_entry


def chain(n: int) -> list[dict[str, object]]:
    entries = []
    previous = None
    for i in range(n):
        previous = next_entry(previous, f"2026-11-27T09:00:0{i}.000+00:00", "segment",
                              {"path": f"p/{i:04d}.webm", "size": i, "sha256": "ab" * 32,
                               "participant_id": "p"})
        entries.append(previous.to_dict())
    return entries


def test_a_chain_links_each_entry_to_the_previous_one() -> None:
    entries = chain(4)
    assert entries[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    assert chain_problems(entries) == []


def test_changes_break_the_chain_at_their_entry() -> None:
    changed = copy.deepcopy(chain(4))
    changed[2]["data"]["size"] = 99  # type: ignore[index]
    assert chain_problems(changed)[0].startswith("broken chain at entry 2")
    removed = chain(4)
    del removed[1]
    assert chain_problems(removed)[0].startswith("broken chain at entry 1")
    swapped = chain(4)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert chain_problems(swapped)[0].startswith("broken chain at entry 1")


def test_the_summary_is_derived_from_the_chain() -> None:
    document = render({"id": "r"}, chain(2))
    assert [f["path"] for f in document["files"]] == ["p/0000.webm", "p/0001.webm"]
    assert document["head"] == document["entries"][-1]["hash"]
