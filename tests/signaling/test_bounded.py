"""The size-limited cache behind the chat membership and relay owner caches."""

from __future__ import annotations

from signaling.bounded import BoundedCache


def test_past_the_limit_the_oldest_entry_goes() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for i, key in enumerate("abcd"):
        cache.put(key, i)
    assert len(cache) == 3
    assert cache.get("a") is None and [cache.get(k) for k in "bcd"] == [1, 2, 3]


def test_a_refreshed_entry_counts_as_the_newest() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)
    cache.put("c", 4)
    assert cache.get("b") is None and cache.get("a") == 3 and cache.get("c") == 4
    cache.pop("a")
    cache.pop("missing")
    assert len(cache) == 1
