"""Benchmark the phone line (a program, not a test).

Runs `parley serve` with the SIP listener as a real process; SIPp places N concurrent calls that
key through the menu by RFC 4733 and wait (queued, hearing their place every 5 s); then N
simulated lawyers' browsers (aiortc peer connections through the socket events, sending a tone)
take the calls, which are bridged into their rooms and recorded. Reports the server process's
CPU (from /proc/PID/stat) idle, per queued call and per bridged recorded call, and the share of
the lawyers' expected audio frames that arrived (lost audio).

``--light``: the lawyers are light clients (bench.capacity.Participant: aiortc for ICE, DTLS
and the SRTP keys only, then pre-encoded 20 ms Opus packets on one shared timer, and what
comes back counted by RTP sequence number), so that 50 calls' clients do not starve the
server of this machine's two cores; lost audio is then also the packets missing in sequence.

    .venv/bin/python -m bench.phone --calls 20 --seconds 20
    .venv/bin/python -m bench.phone --calls 50 --seconds 15 --light
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import av
from aiortc import RTCSessionDescription

from bench.call import cpu_seconds
from bench.capacity import LagMonitor, Participant
from recordings.policy import CURRENT_NOTICE
from signaling.telephony.build_prompts import build
from tests.clients import SocketClient, post_json
from tests.e2e.harness import PASSWORD, ServerProcess, start_server
from tests.telephony.agents import Lawyer
from tests.telephony.sipp import RTP_PORTS, SIP_PORTS, free_udp_port, sipp


def count(db: Path, status: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from cases where status = ?", (status,)
                                ).fetchone()[0])


async def until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def cpu_over(server: ServerProcess, seconds: float) -> float:
    pid = server.process.pid
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


class LightLawyer:
    """A lawyer's browser as replayed packets (``--light``): ``frames`` counts audio packets
    received, ``missing`` the gaps in their sequence numbers."""

    def __init__(self, opus: list[bytes]) -> None:
        self.client = Participant()
        self.pc = self.client.pc
        self._opus = opus

    async def connected(self) -> None:
        await self.client.wait_connected()
        self.client.start()

    def tick(self) -> None:
        self.client.send_audio(self._opus)

    @property
    def frames(self) -> int:
        return self.client.forward_loss()[0]

    @property
    def missing(self) -> int:
        return self.client.forward_loss()[1]

    async def close(self) -> None:
        await self.pc.close()


def tone_packets() -> list[bytes]:
    """One second of the lawyer's 1 kHz tone as 20 ms Opus packets, encoded once."""
    from aiortc.codecs.opus import OpusEncoder

    from tests.telephony.agents import Tone
    encoder, track, packets = OpusEncoder(), Tone(1000.0), []
    for i in range(50):
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(track._second[1920 * i:1920 * (i + 1)])
        frame.sample_rate, frame.pts = 48000, 960 * i
        packets += encoder.encode(frame)[0]
    return packets


async def replay(lawyers: list[LightLawyer]) -> None:
    """Every light lawyer's next 20 ms, on one timer."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        due += 0.02
        await asyncio.sleep(max(0.0, due - loop.time()))
        for lawyer in lawyers:
            lawyer.tick()


async def agent(server: ServerProcess, name: str, lawyers: list[Any],
                clients: list[SocketClient], opus: list[bytes] | None) -> None:
    status, body = await post_json(server.url, "/api/login", {"username": name, "password": PASSWORD})
    assert status == 200, body
    client = SocketClient(server.url)
    clients.append(client)
    await client.connect(body["token"])
    tried: set[str] = set()
    for _ in range(5):  # an offer can be withdrawn (timed out, taken) before it is accepted
        offer = await client.wait_for("offer:new", lambda o: o["case"]["id"] not in tried,
                                      timeout=120)
        tried.add(offer["case"]["id"])
        accepted = await client.call("offer:accept", {"case_id": offer["case"]["id"]})
        if accepted.get("ok"):
            break
        print(f"{name}: offer:accept refused: {accepted}")
    assert accepted.get("ok"), accepted
    room_id = accepted["room"]["room_id"]
    lawyer: Lawyer | LightLawyer = Lawyer() if opus is None else LightLawyer(opus)
    await lawyer.pc.setLocalDescription(await lawyer.pc.createOffer())
    reply = await client.call("rtc:offer", {"room_id": room_id, "sdp": lawyer.pc.localDescription.sdp})
    await lawyer.pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
    # Starting fifty recordings at once takes a loaded server more than the client's 15 s.
    await client.sio.call("recording:consent", {"room_id": room_id, "decision": "granted",
                                                "version": CURRENT_NOTICE.version}, timeout=90)
    if isinstance(lawyer, LightLawyer):
        await lawyer.connected()
    lawyers.append(lawyer)


async def run(calls: int, seconds: float, light: bool) -> None:
    build()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        sip_port = free_udp_port(SIP_PORTS)
        server = await start_server(data, {
            "PARLEY_SIP_LISTEN": f"127.0.0.1:{sip_port}", "PARLEY_SIP_RTP_PORTS": RTP_PORTS,
            "PARLEY_SIP_ANNOUNCE_S": "5", "PARLEY_WRAP_UP_S": "0", "PARLEY_OFFER_TIMEOUT_S": "60"})
        lawyers: list[Any] = []
        opus = tone_packets() if light else None
        replaying = asyncio.ensure_future(replay(lawyers)) if light else None
        clients: list[SocketClient] = []
        caller = None
        try:
            idle = await cpu_over(server, seconds)
            names = [f"bench{i}" for i in range(calls)]
            gate = asyncio.Semaphore(2)  # `parley user add` is a process each: two at a time

            async def add(name: str) -> None:
                async with gate:
                    await asyncio.to_thread(server.add_lawyer, name)

            adding = asyncio.gather(*(add(n) for n in names))
            caller = await sipp("uac_ivr.xml", ("127.0.0.1", sip_port), calls=calls, rate=10,
                                hold_ms=int(1000 * (4 * seconds + 120 + calls)),
                                keys={"caller": "13800138000"})
            db = data / "parley.db"
            await until(lambda: count(db, "waiting") >= calls, 60 + calls, "every call queued")
            queued = await cpu_over(server, seconds)
            await adding
            start = time.monotonic()
            joining = asyncio.Semaphore(5)  # 50 lawyers at once stall the server's start-ups

            async def join(name: str) -> None:
                async with joining:
                    await agent(server, name, lawyers, clients, opus)

            await asyncio.gather(*(join(n) for n in names))
            await until(lambda: all(lw.frames > 0 for lw in lawyers), 60, "audio at every lawyer")
            setup = time.monotonic() - start
            frames_before = sum(lw.frames for lw in lawyers)
            missing_before = sum(lw.missing for lw in lawyers) if light else 0
            t0 = time.monotonic()
            lag = LagMonitor()  # the bench's own loop: a late one under-counts what arrived
            bridged = await cpu_over(server, seconds)
            lag_p99, lag_max = lag.stop()
            got = sum(lw.frames for lw in lawyers) - frames_before
            expected = 50 * (time.monotonic() - t0) * calls  # 20 ms Opus frames
            print(f"\ncalls: {calls}, measured over {seconds:.0f} s each "
                  f"(2-core host, load {os.getloadavg()[0]:.1f})")
            print("| state | server CPU-s per s | per call |")
            print("| --- | --- | --- |")
            print(f"| idle | {idle:.3f} | |")
            print(f"| {calls} queued (IVR done, announcements every 5 s) | {queued:.3f} | "
                  f"{(queued - idle) / calls:.4f} |")
            print(f"| {calls} bridged and recorded | {bridged:.3f} | {(bridged - idle) / calls:.4f} |")
            print(f"all {calls} agents connected and hearing in {setup:.1f} s; "
                  f"lawyers received {got / expected:.1%} of expected audio frames "
                  f"(bench loop lag p99 {lag_p99:.0f} ms, max {lag_max:.0f} ms)")
            if light:
                missing = sum(lw.missing for lw in lawyers) - missing_before
                print(f"audio packets missing in sequence at the lawyers: {missing}")
        finally:
            if replaying is not None:
                replaying.cancel()
            if caller is not None:
                caller.stop()
            for lw in lawyers:
                await lw.close()
            for client in clients:
                await client.close()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--light", action="store_true",
                        help="light lawyers: replayed Opus packets, counted by sequence number")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.seconds, args.light))


if __name__ == "__main__":
    main()
