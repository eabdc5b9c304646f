"""The owned periodic task stops when closed, even when its step swallows the cancellation."""

from __future__ import annotations

import asyncio

from signaling.ticker import Ticker


async def test_close_stops_a_step_that_swallows_its_cancellation() -> None:
    """Seen under load: a database checkout cut short by the cancel returned normally, the
    ticker slept and ran again, and close() waited for ever."""
    entered = asyncio.Event()
    runs = 0

    async def step() -> None:
        nonlocal runs
        runs += 1
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # what the library did

    ticker = Ticker(step, 0.01, "swallowing")
    ticker.start()
    await entered.wait()
    await asyncio.wait_for(ticker.close(), 2)
    assert runs == 1
