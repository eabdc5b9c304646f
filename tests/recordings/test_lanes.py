"""Writer lanes: items from the event loop (batched) and from other threads stay in order."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from recordings.lanes import WriterLane


async def test_batched_puts_and_puts_from_threads_keep_their_order() -> None:
    lane = WriterLane("test-lane")
    seen: list[int] = []
    done = threading.Event()

    def handle(item: tuple[Any, ...]) -> None:
        seen.append(item[0])
        if item[0] == 99:
            done.set()

    for i in range(50):
        lane.put(handle, (i,))  # on the loop: handed over in one batch a little later
    await asyncio.to_thread(lane.put, handle, (50,))  # another thread: at once, after those
    for i in range(51, 100):
        lane.put(handle, (i,))
    assert await asyncio.to_thread(done.wait, 5)
    assert seen == list(range(100))
    assert await asyncio.to_thread(lane.close, 5)


def test_close_hands_over_what_is_pending() -> None:
    lane = WriterLane("test-lane")
    seen: list[int] = []

    async def put_on_loop() -> None:
        lane.put(lambda item: seen.append(item[0]), (1,))

    asyncio.run(put_on_loop())  # the loop ends before its hand-off timer fires
    assert lane.close(5) and seen == [1]
