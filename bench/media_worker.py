"""bench/media.py's Parley server: the media worker alone in a process of its own.

Run by bench/media.py as a script, with the source tree to measure first on PYTHONPATH (so an
older tree can be measured in the same run). POST /request carries one worker message
(``to_dict``) and answers with the reply's. Prints ``PORT n`` once it listens on 127.0.0.1, and
with PARLEY_BENCH_LINKS set a JSON line for each link change (audio-only fallback).
PARLEY_BENCH_ESTIMATE_CAP=pid=bps,... holds those subscribers' estimates (bench/simulcast.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from typing import Any

from aiohttp import web

from rooms.media.local import LocalMediaWorker
from rooms.messages import ParticipantId, RoomId, message_from_dict


async def print_link(room_id: RoomId, participant_id: ParticipantId, state: str) -> None:
    print(json.dumps({"room_id": room_id, "participant_id": participant_id, "state": state}),
          flush=True)


def trace_estimates() -> None:
    """PARLEY_BENCH_ESTIMATES: each subscriber estimate and loss the link guards see, as JSON
    lines on stderr (bench/shaped.py --samples keeps them), to read a shaped run by."""
    from rooms.media.link import LinkGuard

    observe = LinkGuard.observe

    def traced(self: LinkGuard, now: float, *, estimate: int | None = None,
               loss: float | None = None) -> Any:
        print(json.dumps({"guard": id(self), "t": now, "estimate": estimate, "loss": loss,
                          "state": self.state.value}), file=sys.stderr, flush=True)
        return observe(self, now, estimate=estimate, loss=loss)

    LinkGuard.observe = traced  # type: ignore[method-assign]


async def serve() -> None:
    if os.environ.get("PARLEY_BENCH_LOG"):  # the worker's log on stderr (simulcast layers...)
        logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f %(message)s")
    if os.environ.get("PARLEY_BENCH_ESTIMATES"):
        trace_estimates()
    # bench/shaped.py follows the audio-only fallback from these lines.
    # (Only then: an older tree measured by bench/media.py --before has no on_link.)
    extra: dict[str, Any] = {"on_link": print_link} if os.environ.get("PARLEY_BENCH_LINKS") else {}
    caps = os.environ.get("PARLEY_BENCH_ESTIMATE_CAP")
    if caps:  # (only then, likewise: older trees have no lab_estimate_cap)
        extra["lab_estimate_cap"] = {pid: int(bps) for pid, bps in
                                     (item.split("=") for item in caps.split(","))}
    worker = LocalMediaWorker(ice_servers=[], allow_private_candidates=True, **extra)

    async def handle(request: web.Request) -> web.Response:
        message = message_from_dict(await request.json())
        reply = await worker.request(message)  # type: ignore[arg-type]
        return web.json_response(reply.to_dict())

    app = web.Application()
    app.router.add_post("/request", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
