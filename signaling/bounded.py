"""A dictionary with a size limit, for per-room and per-person caches of a long-running
process: past the limit the oldest entry goes, so the cache never grows without end."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self._items.pop(key, None)  # a refreshed entry counts as the newest
        if len(self._items) >= self._limit:
            del self._items[next(iter(self._items))]
        self._items[key] = value

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
