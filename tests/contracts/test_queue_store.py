"""One contract for every QueueStore backend (memory, and Redis on the real server)."""

from __future__ import annotations

import asyncio

from signaling.queue import QueueEntry, QueueStore


def entry(case_id: str, at: float) -> QueueEntry:
    return QueueEntry(case_id=case_id, enqueued_at=at, service_type="consultation",
                      category="labour", mode="video", region="gz-zhanggong")


async def test_first_in_first_out(queue_store: QueueStore) -> None:
    for case_id, at in (("b", 2.0), ("a", 1.0), ("c", 3.0)):
        await queue_store.add(entry(case_id, at))
    assert [e.case_id for e in await queue_store.entries()] == ["a", "b", "c"]
    claimed = await queue_store.claim_next()
    assert claimed == entry("a", 1.0)
    assert [e.case_id for e in await queue_store.entries()] == ["b", "c"]


async def test_ties_broken_by_case_id(queue_store: QueueStore) -> None:
    await queue_store.add(entry("y", 5.0))
    await queue_store.add(entry("x", 5.0))
    assert [e.case_id for e in await queue_store.entries()] == ["x", "y"]


async def test_add_is_idempotent_and_keeps_the_place(queue_store: QueueStore) -> None:
    await queue_store.add(entry("a", 1.0))
    await queue_store.add(entry("b", 2.0))
    await queue_store.add(entry("a", 9.0))
    assert [(e.case_id, e.enqueued_at) for e in await queue_store.entries()] == [
        ("a", 1.0), ("b", 2.0)]


async def test_remove(queue_store: QueueStore) -> None:
    await queue_store.add(entry("a", 1.0))
    assert await queue_store.remove("a") is True
    assert await queue_store.remove("a") is False
    assert await queue_store.claim_next() is None


async def test_rebuild_replaces_everything(queue_store: QueueStore) -> None:
    await queue_store.add(entry("old", 1.0))
    await queue_store.rebuild([entry("n2", 2.0), entry("n1", 1.5)])
    assert [e.case_id for e in await queue_store.entries()] == ["n1", "n2"]


async def test_concurrent_claims_never_share_an_entry(queue_store: QueueStore) -> None:
    for i in range(40):
        await queue_store.add(entry(f"c{i:02}", float(i)))
    results = await asyncio.gather(*(queue_store.claim_next() for _ in range(60)))
    claimed = [r.case_id for r in results if r is not None]
    assert sorted(claimed) == [f"c{i:02}" for i in range(40)]
    assert len(claimed) == len(set(claimed))
