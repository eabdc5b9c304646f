"""The waiting tasks, indexed for routing decisions in well under a millisecond.

Tasks sit in buckets keyed by (category, region, mode, language), one set of buckets per
priority class, each bucket ordered by (enqueued time, case id). Everything that decides whether
an agent may serve a task is in the bucket key except the wait, and a longer wait only widens,
so within a bucket the tasks an agent may serve now are a prefix: the scan for "the first task
in service order this agent may take" reads the head of each relevant bucket, skipping only
tasks blocked for a reason outside the key (an offer in flight, an exclusion, a reservation).

The index is a plain data structure (no clock, no I/O); the memory store owns one, the Redis
store keeps one as a mirror of Redis.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Iterator, KeysView

from signaling.routing.eligibility import needed_stage
from signaling.routing.model import (
    PRIORITY_ORDER,
    Agent,
    AgentId,
    RegionCode,
    RoutingConfig,
    Task,
    TaskId,
)
from signaling.routing.regions import RegionGraph

BucketKey = tuple[str, str, str, str]  # category, region, mode, language
Place = tuple[float, str]  # enqueued_at, task id
OrderKey = tuple[int, float, str]
Window = tuple[BucketKey, float]  # bucket, latest enqueued time eligible now


def bucket_key(task: Task) -> BucketKey:
    return (task.category, task.region, task.mode.value, task.language)


class WaitingIndex:
    """Waiting tasks in service order, bucketed for eligibility scans."""

    def __init__(self, tasks: Iterable[Task] = ()) -> None:
        self._tasks: dict[TaskId, Task] = {}
        self._ranks: list[dict[BucketKey, list[Place]]] = [{} for _ in PRIORITY_ORDER]
        self._preferred: dict[AgentId, list[OrderKey]] = {}
        self._order: list[OrderKey] = []
        self._regions: dict[RegionCode, int] = {}  # region -> waiting count
        for task in tasks:
            self.add(task)

    # --- contents ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def get(self, task_id: TaskId) -> Task | None:
        return self._tasks.get(task_id)

    def ids(self) -> KeysView[TaskId]:
        """The waiting task ids (a live view: copy it before awaiting)."""
        return self._tasks.keys()

    def in_order(self) -> Iterator[Task]:
        """Every waiting task, first to be served first."""
        return (self._tasks[TaskId(key[2])] for key in self._order)

    def add(self, task: Task) -> None:
        """Insert, or replace the task with the same id (its place follows ``order_key``)."""
        if task.task_id in self._tasks:
            self.discard(task.task_id)
        self._tasks[task.task_id] = task
        place = (task.enqueued_at, task.task_id)
        bisect.insort(self._ranks[task.rank].setdefault(bucket_key(task), []), place)
        bisect.insort(self._order, task.order_key)
        if task.preferred_agent is not None:
            bisect.insort(self._preferred.setdefault(task.preferred_agent, []), task.order_key)
        self._regions[task.region] = self._regions.get(task.region, 0) + 1

    def discard(self, task_id: TaskId) -> Task | None:
        task = self._tasks.pop(task_id, None)
        if task is None:
            return None
        key = bucket_key(task)
        bucket = self._ranks[task.rank][key]
        _remove(bucket, (task.enqueued_at, task.task_id))
        if not bucket:
            del self._ranks[task.rank][key]
        _remove(self._order, task.order_key)
        if task.preferred_agent is not None:
            owned = self._preferred[task.preferred_agent]
            _remove(owned, task.order_key)
            if not owned:
                del self._preferred[task.preferred_agent]
        self._regions[task.region] -= 1
        if not self._regions[task.region]:
            del self._regions[task.region]
        return task

    # --- eligibility scans ---------------------------------------------------------------

    def windows(self, agent: Agent, now: float, config: RoutingConfig, graph: RegionGraph,
                modes: Iterable[str]) -> list[Window]:
        """The buckets ``agent`` may serve from now, each with its latest eligible enqueue time."""
        starts = config.stage_starts
        out: list[Window] = []
        for category in agent.skills:
            for region in self._regions:
                stage = needed_stage(agent, category, region, graph, config)
                if stage is None:
                    continue
                latest = now - starts[stage]
                for mode in modes:
                    for language in agent.languages:
                        out.append(((category, region, mode, language), latest))
        return out

    def best_for(self, agent: Agent, now: float, config: RoutingConfig, graph: RegionGraph,
                 blocked: Callable[[Task], bool], limit: int = 1) -> list[Task]:
        """Up to ``limit`` tasks ``agent`` may be offered, in service order.

        ``blocked`` rejects tasks for reasons outside the bucket key (offer in flight, exclusion,
        reservation for another agent). Tasks preferring this agent are eligible regardless of
        skill, region and language (首问负责), as long as the agent has room for their mode.
        """
        modes = [m.value for m in agent.servable_modes()]
        if not modes:
            return []
        found: dict[TaskId, Task] = {}
        for order_key in self._preferred.get(agent.agent_id, ()):
            task = self._tasks[TaskId(order_key[2])]
            if task.mode.value in modes and not blocked(task):
                found[task.task_id] = task
                if len(found) >= limit:
                    break
        windows = self.windows(agent, now, config, graph, modes)
        for rank, buckets in enumerate(self._ranks):
            if sum(1 for t in found.values() if t.rank < rank) >= limit:
                break  # enough tasks of higher priority: lower classes cannot come first
            # merge the relevant buckets of this class in service order, up to ``limit`` tasks
            heads: list[tuple[Place, int, list[Place], float]] = []
            for key, latest in windows:
                bucket = buckets.get(key)
                if bucket:
                    at = self._next(bucket, 0, latest, blocked)
                    if at >= 0:
                        heads.append((bucket[at], at, bucket, latest))
            heapq.heapify(heads)
            taken = 0
            while heads and taken < limit:
                place, at, bucket, latest = heapq.heappop(heads)
                found[TaskId(place[1])] = self._tasks[TaskId(place[1])]
                taken += 1
                at = self._next(bucket, at + 1, latest, blocked)
                if at >= 0:
                    heapq.heappush(heads, (bucket[at], at, bucket, latest))
        return sorted(found.values(), key=lambda t: t.order_key)[:limit]

    def _next(self, bucket: list[Place], start: int, latest: float,
              blocked: Callable[[Task], bool]) -> int:
        """Index of the first task from ``start`` that is eligible by wait and not blocked, or -1.
        Younger tasks in a bucket are never eligible before older ones, so the scan stops at
        the first task enqueued after ``latest``."""
        for at in range(start, len(bucket)):
            enqueued_at, task_id = bucket[at]
            if enqueued_at > latest:
                return -1
            if not blocked(self._tasks[TaskId(task_id)]):
                return at
        return -1


def _remove(items: list[Place] | list[OrderKey], item: Place | OrderKey) -> None:
    i = bisect.bisect_left(items, item)
    if i < len(items) and items[i] == item:
        del items[i]
    else:  # pragma: no cover - the index is corrupt
        raise KeyError(item)
