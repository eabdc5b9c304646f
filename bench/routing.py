"""Benchmark the routing engine (a program, not a test).

    .venv/bin/python -m bench.routing [--tasks 10000] [--agents 500] [--redis redis://127.0.0.1:6379/13]

1. Routing decisions on the memory store with --tasks waiting and --agents agents (random
   categories, regions, modes, languages, priorities and waits; random skills, languages and
   regions). One decision = choosing the offers after one change:
   - "agent available": a busy agent becomes free; decide for that agent (``only=[agent]``);
   - "task joins": a task arrives; decide over every free agent (``only=None``; 5% are free).
2. Claims per second with 50 concurrent claimers on the Redis store, beside a plain Redis list
   FIFO (LPUSH, then 50 BRPOP consumers) measured in the same run on the same server:
   - "claim": offers decided beforehand (decision time is part 1) made by one Lua claim each:
     agents who may serve any task (all fully widened), task i planned for agent i with the next
     7 tasks as fall-backs in case another claimer got there first;
   - "pull": "take next" end to end for agents with random skills: each claimer runs the policy
     for its agent on the process's mirror (best 8 tasks), then the claim.
Prints a markdown table with the ratio against the FIFO.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

from redis.asyncio import Redis

from server.catalogue import CATEGORIES, REGIONS, Mode
from signaling.routing.index import WaitingIndex
from signaling.routing.memory import MemoryRoutingStore
from signaling.routing.model import (
    Agent,
    AgentId,
    AgentState,
    Contact,
    PriorityClass,
    RegionCode,
    RoutingConfig,
    Task,
    TaskId,
)
from signaling.routing.policy import best_tasks_for, decide_indexed
from signaling.routing.redis_store import RedisRoutingStore
from signaling.routing.regions import GANZHOU

NOW = 1_750_000_000.0
CONFIG = RoutingConfig()
CLAIMERS = 50
LANGUAGES = (("zh", 0.8), ("hak", 0.15), ("yue", 0.05))
PRIORITIES = ((PriorityClass.URGENT_RISK, 0.02), (PriorityClass.DISABLED, 0.03),
              (PriorityClass.ELDERLY, 0.1), (PriorityClass.LEGAL_AID, 0.1),
              (PriorityClass.NORMAL, 0.75))


def make_tasks(rng: random.Random, n: int) -> list[Task]:
    categories = [c.code for c in CATEGORIES]
    regions = [r.code for r in REGIONS]
    out = []
    for i in range(n):
        at = NOW - rng.uniform(0, 600)  # every widening stage is represented
        out.append(Task(
            task_id=TaskId(f"case-{i:06}"), service_type="consultation",
            category=rng.choice(categories), mode=rng.choice(list(Mode)),
            language=rng.choices([v for v, _ in LANGUAGES], [w for _, w in LANGUAGES])[0],
            region=RegionCode(rng.choice(regions)),
            priority=rng.choices([v for v, _ in PRIORITIES], [w for _, w in PRIORITIES])[0],
            created_at=at, enqueued_at=at))
    return out


def make_agents(rng: random.Random, n: int, free_share: float, prefix: str = "agent") -> list[Agent]:
    categories = [c.code for c in CATEGORIES]
    regions = [r.code for r in REGIONS]
    out = []
    for i in range(n):
        skills = {c: rng.randint(1, 5) for c in rng.sample(categories, rng.randint(2, 4))}
        languages = {"zh"} | ({"hak"} if rng.random() < 0.3 else set()) | (
            {"yue"} if rng.random() < 0.1 else set())
        free = rng.random() < free_share
        out.append(Agent(
            agent_id=AgentId(f"{prefix}-{i:05}"), skills=skills, languages=frozenset(languages),
            region=RegionCode(rng.choice(regions)),
            state=AgentState.AVAILABLE if free else AgentState.BUSY,
            idle_since=NOW - rng.uniform(0, 3600),
            contacts=() if free else (Contact(TaskId(f"x-{i}"), Mode.VIDEO, NOW - 100),)))
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_decisions(n_tasks: int, n_agents: int, rounds: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(1)
    store = MemoryRoutingStore()
    await store.rebuild(make_tasks(rng, n_tasks), make_agents(rng, n_agents, free_share=0.05))
    view = await store.view()
    # steady state: the free agents already hold the offers the policy gives them
    for d in decide_indexed(view.index, view.agents, (), NOW, CONFIG, GANZHOU):
        agent = view.agents[d.agent_id]
        await store.claim(replace(agent, state=AgentState.OFFERED), [d.task_id], NOW, NOW + 20)
    view = await store.view()
    busy = [a for a in view.agents.values() if a.state is AgentState.BUSY]
    offered = view.offers.keys()
    one: list[float] = []
    for _ in range(rounds):
        agent = rng.choice(busy)
        agents = dict(view.agents)
        agents[agent.agent_id] = replace(agent, state=AgentState.AVAILABLE, contacts=())
        start = time.perf_counter()
        decide_indexed(view.index, agents, offered, NOW, CONFIG, GANZHOU, only=[agent.agent_id])
        one.append(time.perf_counter() - start)
    full: list[float] = []
    for _ in range(max(1, rounds // 10)):
        start = time.perf_counter()
        decide_indexed(view.index, view.agents, offered, NOW, CONFIG, GANZHOU)
        full.append(time.perf_counter() - start)
    return {"agent available": (percentile(one, 0.5), percentile(one, 0.99)),
            "task joins": (percentile(full, 0.5), percentile(full, 0.99))}


async def bench_fifo(redis: Redis, n: int) -> float:
    key = f"bench:fifo:{uuid.uuid4().hex}"
    for first in range(0, n, 1000):
        await redis.lpush(key, *(f"case-{i:06}" for i in range(first, min(n, first + 1000))))
    await redis.lpush(key, *(["stop"] * CLAIMERS))  # LPUSH adds at the head, BRPOP takes the tail
    popped = 0

    async def consumer() -> None:
        nonlocal popped
        while True:
            item = await redis.brpop([key], timeout=5)
            if item is None or item[1] == b"stop":
                return
            popped += 1

    start = time.perf_counter()
    await asyncio.gather(*(consumer() for _ in range(CLAIMERS)))
    elapsed = time.perf_counter() - start
    await redis.delete(key)
    assert popped == n, popped
    return popped / elapsed


def broad_agents(rng: random.Random, n: int) -> list[Agent]:
    """Agents who may serve any task once it is fully widened, so that a plan of offers in task
    order is the policy's own choice (identical agents take tasks in order)."""
    return [Agent(agent_id=AgentId(f"claimer-{i:05}"), skills={c.code: 3 for c in CATEGORIES},
                  languages=frozenset(v for v, _ in LANGUAGES), region=RegionCode(rng.choice(
                      [r.code for r in REGIONS])), state=AgentState.AVAILABLE, idle_since=NOW)
            for i in range(n)]


async def bench_claims(url: str, n: int, pull: bool) -> float:
    rng = random.Random(2)
    prefix = f"bench:routing:{uuid.uuid4().hex}"
    store = RedisRoutingStore(Redis.from_url(url), prefix=prefix)
    try:
        agents = make_agents(rng, n, free_share=1.0) if pull else broad_agents(rng, n)
        await store.rebuild(make_tasks(rng, n), agents)
        view = await store.view()
        now = NOW + 3600  # every task fully widened: claims, not eligibility, are measured
        index = WaitingIndex(view.index.in_order())  # this "process's" mirror
        order = [t.task_id for t in index.in_order()]
        stored = sorted(view.agents.values(), key=lambda a: a.agent_id)
        plan = [(a, [] if pull else order[i:i + 8]) for i, a in enumerate(stored)]
        claimed = 0

        async def claimer(mine: list[tuple[Agent, list[TaskId]]]) -> None:
            nonlocal claimed
            for agent, candidates in mine:
                if pull:  # take next: the policy for this agent on the mirror, then the claim
                    best = best_tasks_for(agent, index, view.agents, (), now, CONFIG, GANZHOU, limit=8)
                    candidates = [t.task_id for t in best]
                offer = await store.claim(replace(agent, state=AgentState.OFFERED), candidates,
                                          now, now + 20)
                if offer is not None:
                    index.discard(offer.task_id)
                    claimed += 1

        shares = [plan[i::CLAIMERS] for i in range(CLAIMERS)]
        start = time.perf_counter()
        await asyncio.gather(*(claimer(s) for s in shares))
        elapsed = time.perf_counter() - start
        offers = await store.offers()
        assert len(offers) == claimed == len({o.task_id for o in offers})  # no double assignment
        assert len({o.agent_id for o in offers}) == claimed
        return claimed / elapsed
    finally:
        redis = Redis.from_url(url)
        keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await store.close()


async def main(n_tasks: int, n_agents: int, rounds: int, url: str, claims: int, repeat: int) -> None:
    decisions = await bench_decisions(n_tasks, n_agents, rounds)
    redis = Redis.from_url(url)
    fifo: list[float] = []
    claim: list[float] = []
    pull: list[float] = []
    try:
        for _ in range(repeat):  # interleaved, so that load from elsewhere hits all three alike
            fifo.append(await bench_fifo(redis, claims))
            claim.append(await bench_claims(url, claims, pull=False))
            pull.append(await bench_claims(url, claims, pull=True))
    finally:
        await redis.aclose()
    f, c, p = statistics.median(fifo), statistics.median(claim), statistics.median(pull)
    print(f"\n{n_tasks} waiting tasks, {n_agents} agents; Redis at {url}, {CLAIMERS} concurrent "
          f"claimers, {claims} claims per run, median of {repeat} interleaved runs\n")
    print("| measure | result | target | ratio to FIFO |")
    print("| --- | --- | --- | --- |")
    for name, (p50, p99) in decisions.items():
        target = "p99 < 1 ms" if name == "agent available" else ""
        print(f"| memory decision, {name}: p50 / p99 | {p50 * 1e3:.3f} ms / {p99 * 1e3:.3f} ms "
              f"| {target} | |")
    print(f"| Redis plain list FIFO (LPUSH / BRPOP), baseline | {f:,.0f} /s | | 1.00 |")
    print(f"| Redis routing claim (Lua, decided offers) | {c:,.0f} /s | >= 1/3 of FIFO | {c / f:.2f} |")
    print(f"| Redis routing pull (policy + Lua claim, take next) | {p:,.0f} /s | | {p / f:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.agents, args.rounds, args.redis, args.claims, args.repeat))
