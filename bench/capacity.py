"""How many recorded 1:1 video calls one media worker carries with no frame lost (a program,
not a test).

    .venv/bin/python -m bench.capacity --calls 40 [--seconds 20] [--sweep 20,40,50]
                                       [--workers 2] [--client-processes 2] [--kbps 500]

The calls are spread over ``--workers`` media worker processes (a deployment runs one per core:
the event loop is one thread; signaling pins each room to one worker). Each worker has the
Parley recorder as its sink, recording both participants of every call. Each call is two
participants, each with one aiortc peer connection to the worker (sendrecv VP8 + Opus), held
by client processes (``--role clients``). aiortc does only what a browser's stack would do before media flows:
ICE, DTLS, the SRTP keys. After that the clients are light, so dozens of them fit next to
the worker on two cores: each participant sends pre-encoded 640x480 VP8 (libvpx, about
``--kbps``, 20 fps like Chromium's fake camera, packetised once, picture IDs and numbers
advancing) and 20 ms Opus packets, paced in real time, encrypted with the connection's own
SRTP session and sent on its nominated pair; what the worker forwards back is counted by
sequence number from the cleartext RTP header (not decrypted, not decoded).

Reported, per N: worker CPU-s per second (this process: event loop, recorder threads, aiortc),
per call; event-loop lag p99; frames lost before the recorder (gaps in each recorded stream's
RTP timestamps at the sink); recorder queue drops; frames accepted but not in the WebM files
(``recordings.probe``); packets the forwarding lost (sequence gaps at the receiving clients);
kernel drops on the worker's UDP sockets (``/proc/net/udp``, the receive-buffer overflow that
used to lose recorded frames past 20-30 streams); the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from bench.recording import AUDIO_STEP, _cpu_of, encode_clip
from recordings.probe import probe
from recordings.recorder import Recorder
from recordings.storage import LocalRecordingStorage
from recordings.writer import WriterEvent
from rooms.media.local import LocalMediaWorker
from rooms.messages import (
    Answer,
    Negotiate,
    OpenRoom,
    ParticipantId,
    RoomId,
    StartRecording,
    StopRecording,
)

FPS = 20                    # what Chromium's fake camera sends
VIDEO_STEP = 90000 // FPS
MAX_PAYLOAD = 1200
_HEADER = struct.Struct("!BBHLL")

# -- client process -------------------------------------------------------------------------


class _Silent(MediaStreamTrack):
    """A track aiortc's sender waits on forever: the replay below sends instead."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.Event().wait()


def _vp8_frames(kbps: int) -> list[tuple[bool, list[bytes]]]:
    """The clip's frames as VP8 payload chunks (descriptor added at send time)."""
    video, _ = encode_clip_at(kbps)
    frames = []
    for packet in video:
        data = bytes(packet)
        chunks = [data[i:i + MAX_PAYLOAD] for i in range(0, len(data), MAX_PAYLOAD)]
        frames.append((bool(packet.is_keyframe), chunks))
    return frames


def encode_clip_at(kbps: int) -> tuple[list[Any], list[Any]]:
    import bench.recording as rec
    rec_fps = rec.FPS
    rec.FPS, rec.VIDEO_STEP = FPS, VIDEO_STEP
    try:
        video, audio = encode_clip(4.0)
    finally:
        rec.FPS, rec.VIDEO_STEP = rec_fps, 90000 // rec_fps
    scale = kbps * 1000 / 8 / (sum(len(bytes(p)) for p in video) / 4.0)
    if scale < 1:  # libvpx at this size overshoots a low target: trim each frame
        trimmed = []
        for packet in video:
            import av
            data = bytes(packet)
            short = av.Packet(data[:max(64, int(len(data) * scale))])
            short.is_keyframe = packet.is_keyframe
            trimmed.append(short)
        video = trimmed
    return video, audio


class Participant:
    """One client peer connection, replaying media once connected."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.video = self.pc.addTransceiver(_Silent("video"), "sendrecv")
        caps = RTCRtpSender.getCapabilities("video")
        self.video.setCodecPreferences([c for c in caps.codecs if c.mimeType == "video/VP8"])
        self.audio = self.pc.addTransceiver(_Silent("audio"), "sendrecv")
        self.seq = {"video": random.randrange(1 << 16), "audio": random.randrange(1 << 16)}
        self.ts = {"video": random.randrange(1 << 32), "audio": random.randrange(1 << 32)}
        self.picture_id = random.randrange(1 << 15)
        self.frame = 0
        self.sent = {"video": 0, "audio": 0}
        self.received: dict[int, list[int]] = {}  # ssrc -> [count, first ext seq, last]

    def connected(self) -> bool:
        return self.pc.connectionState == "connected"

    async def wait_connected(self) -> None:
        done = asyncio.Event()
        self.pc.on("connectionstatechange",
                   lambda: done.set() if self.pc.connectionState == "connected" else None)
        if not self.connected():
            await done.wait()

    def start(self) -> None:
        dtls = self.video.sender.transport
        self._dtls = dtls
        self._pt = {kind: t._codecs[0].payloadType for kind, t in
                    (("video", self.video), ("audio", self.audio))}
        self._ssrc = {"video": self.video.sender._ssrc, "audio": self.audio.sender._ssrc}
        connection = dtls.transport._connection
        for protocol in connection._protocols:
            stock = protocol.datagram_received

            def counted(data: bytes, addr: Any, stock: Any = stock) -> None:
                if len(data) >= 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223:
                    seq, ssrc = struct.unpack_from("!H", data, 2)[0], int.from_bytes(
                        data[8:12], "big")
                    entry = self.received.get(ssrc)
                    if entry is None:
                        self.received[ssrc] = [1, seq, seq]
                    else:
                        entry[0] += 1
                        last = entry[2]
                        delta = (seq - (last & 0xFFFF)) & 0xFFFF
                        if delta < 0x8000:
                            entry[2] = last + delta
                    return
                stock(data, addr)

            protocol.datagram_received = counted
        self._pair = connection._nominated.get(1)

    def _send(self, kind: str, marker: bool, timestamp: int, payload: bytes) -> None:
        seq = self.seq[kind]
        self.seq[kind] = (seq + 1) & 0xFFFF
        header = _HEADER.pack(0x80, (0x80 if marker else 0) | self._pt[kind], seq, timestamp,
                              self._ssrc[kind])
        tx = self._dtls._tx_srtp
        if tx is None or self._pair is None or self._pair.protocol.transport.is_closing():
            return  # not connected, or the connection failed (counted as a dropped call)
        self._pair.protocol.transport.sendto(tx.protect(header + payload),
                                             self._pair.remote_addr)
        self.sent[kind] += 1

    def send_video(self, frames: list[tuple[bool, list[bytes]]]) -> None:
        _, chunks = frames[self.frame % len(frames)]
        self.frame += 1
        pid = self.picture_id = (self.picture_id + 1) & 0x7FFF
        ts = self.ts["video"] = (self.ts["video"] + VIDEO_STEP) & 0xFFFFFFFF
        for i, chunk in enumerate(chunks):
            descriptor = bytes((0x90 if i == 0 else 0x80, 0x80, 0x80 | pid >> 8, pid & 0xFF))
            self._send("video", i == len(chunks) - 1, ts, descriptor + chunk)

    def send_audio(self, packets: list[bytes]) -> None:
        ts = self.ts["audio"] = (self.ts["audio"] + AUDIO_STEP) & 0xFFFFFFFF
        self._send("audio", False, ts, packets[(ts // AUDIO_STEP) % len(packets)])

    def forward_loss(self) -> tuple[int, int]:
        """(packets received, packets missing in the sequence) of what the worker sent."""
        got = sum(e[0] for e in self.received.values())
        expected = sum(e[2] - e[1] + 1 for e in self.received.values())
        return got, max(0, expected - got)


async def clients(calls: int, kbps: int) -> None:
    frames = _vp8_frames(kbps)
    _, apackets = encode_clip_at(kbps)
    audio = [bytes(p) for p in apackets]
    people = [Participant() for _ in range(calls * 2)]
    for person in people:
        await person.pc.setLocalDescription(await person.pc.createOffer())
    print(json.dumps({"offers": [p.pc.localDescription.sdp for p in people]}), flush=True)
    answers = json.loads(await asyncio.to_thread(sys.stdin.readline))["answers"]
    for person, sdp in zip(people, answers, strict=True):
        await person.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
    await asyncio.wait([asyncio.ensure_future(p.wait_connected()) for p in people], timeout=60)
    for person in people:
        person.start()
    print(json.dumps({"connected": sum(p.connected() for p in people)}), flush=True)
    stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
    # Pacing: each participant's frames at its own phase, so bursts do not all coincide.
    start = time.monotonic()
    phase = [random.random() for _ in people]
    video_done = [0] * len(people)
    audio_done = [0] * len(people)
    while not stop.done():
        now = time.monotonic() - start
        for i, person in enumerate(people):
            t = now - phase[i] * 0.05
            while video_done[i] < t * FPS:
                person.send_video(frames)
                video_done[i] += 1
            while audio_done[i] < t * 50:
                person.send_audio(audio)
                audio_done[i] += 1
        await asyncio.sleep(0.005)  # pacing like a camera, not synchronisation
    received = [p.forward_loss() for p in people]
    print(json.dumps({"sent": [p.sent for p in people],
                      "failed": sum(not p.connected() for p in people),
                      "received": sum(r[0] for r in received),
                      "forward_missing": sum(r[1] for r in received)}), flush=True)
    for person in people:
        await person.pc.close()


# -- the worker's process -------------------------------------------------------------------


class LagMonitor:
    """How late a 10 ms timer fires: p99 of its lateness, and the worst (a loop starved of
    CPU fires it rarely, so the p99 of few samples would hide it)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - t - 0.01)

    def stop(self) -> tuple[float, float]:
        self._task.cancel()
        if not self.lags:
            return float("inf"), float("inf")
        ordered = sorted(self.lags)
        return ordered[int(len(ordered) * 0.99)] * 1000, ordered[-1] * 1000


@dataclass
class GapCountingSink:
    """The recorder behind a count of frames missing at the sink: gaps in each recorded
    stream's RTP timestamps (per room, participant and kind)."""

    recorder: Recorder
    last: dict[tuple[str, str, str], int] = field(default_factory=dict)
    accepted: int = 0
    missing: int = 0

    def packet(self, room_id: RoomId, participant_id: ParticipantId, kind: str,
               packet: Any, arrival: float) -> None:
        key, step = (room_id, participant_id, kind), VIDEO_STEP if kind == "video" else AUDIO_STEP
        if packet.pts is not None:
            previous = self.last.get(key)
            if previous is not None and packet.pts - previous != step:
                self.missing += max(1, round((packet.pts - previous) / step) - 1)
            self.last[key] = packet.pts
        self.accepted += 1
        self.recorder.packet(room_id, participant_id, kind, packet, arrival)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)  # lifecycle and wants_keyframe


def args_verbose_drops() -> bool:
    return bool(os.environ.get("PARLEY_BENCH_DROPS"))


def _socket_drops(by_address: bool = False) -> Any:
    """Kernel drops (receive buffer full) summed over this process's UDP sockets (or, with
    ``by_address``, listed by local address)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    drops = 0
    listed: list[tuple[str, int]] = []
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                drops += int(fields[-1])
                if by_address and int(fields[-1]):
                    listed.append((fields[1], int(fields[-1])))
    return listed if by_address else drops


async def run(calls: int, seconds: float, processes: int, kbps: int, folder: Path,
              record: bool = True, profile: str | None = None) -> dict[str, Any]:
    events: list[WriterEvent] = []
    recorder = Recorder(LocalRecordingStorage(folder), events.append)
    sink = GapCountingSink(recorder)
    worker = LocalMediaWorker([], True, sink=sink)  # type: ignore[arg-type]
    shares = [calls // processes + (1 if i < calls % processes else 0) for i in range(processes)]
    procs = []
    room_index = 0
    for share in (s for s in shares if s):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.capacity", "--role", "clients", "--calls", str(share),
            "--kbps", str(kbps), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 26)
        assert proc.stdin is not None and proc.stdout is not None
        offers = json.loads(await proc.stdout.readline())["offers"]
        answers = []
        for i, sdp in enumerate(offers):
            room = RoomId(f"call{room_index + i // 2}")
            await worker.request(OpenRoom(room))
            reply = await worker.request(Negotiate(room, ParticipantId(f"p{i % 2}"), sdp))
            assert isinstance(reply, Answer), reply
            answers.append(reply.sdp)
        room_index += share
        proc.stdin.write((json.dumps({"answers": answers}) + "\n").encode())
        await proc.stdin.drain()
        procs.append(proc)
    connected = 0
    for proc in procs:
        assert proc.stdout is not None
        connected += json.loads(await proc.stdout.readline())["connected"]
    for i in range(calls if record else 0):
        await worker.request(StartRecording(RoomId(f"call{i}"), f"rec{i}",
                                            (ParticipantId("p0"), ParticipantId("p1")), "bench"))
    await asyncio.sleep(5.0)  # warm-up: first keyframes, recorders' first segments
    drops0 = _socket_drops()
    cpu, wall, monitor = time.process_time(), time.monotonic(), LagMonitor()
    clients_cpu0 = sum(_cpu_of(p.pid) for p in procs)
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    await asyncio.sleep(seconds)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    lag, worst = monitor.stop()
    clients_cpu = (sum(_cpu_of(p.pid) for p in procs) - clients_cpu0) / wall
    drops = _socket_drops() - drops0
    if args_verbose_drops():
        print("socket drops by local address:", _socket_drops(by_address=True),
              file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    for i in range(calls if record else 0):
        await worker.request(StopRecording(RoomId(f"call{i}"), f"rec{i}"))
    forward_missing = received = failed = 0
    for proc in procs:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b'"stop"\n')
        await proc.stdin.drain()
        report = json.loads(await proc.stdout.readline())
        forward_missing += report["forward_missing"]
        failed += report["failed"]
        received += report["received"]
        await proc.wait()
    await worker.close()
    await asyncio.to_thread(recorder.close, 60)
    written = await asyncio.to_thread(
        lambda: sum(sum(probe(p).packets.values()) for p in folder.rglob("*.webm")))
    skipped = sum(getattr(e, "skipped_until_keyframe", 0) for e in events)
    dropped = sum(recorder.dropped().values()) + sum(
        sum(getattr(e, "dropped", {}).values()) for e in events if hasattr(e, "segments"))
    unwritten = sink.accepted - skipped - written
    return {"calls": calls, "connected": connected, "cpu_per_s": cpu / wall,
            "cpu_per_call": cpu / wall / calls, "lag_p99_ms": lag, "lag_max_ms": worst,
            "before_sink": sink.missing, "queue_drops": dropped,
            "unwritten": unwritten, "frames_written": written,
            "forward_missing": forward_missing, "forwarded_received": received,
            "socket_drops": drops, "clients_cpu": clients_cpu, "load": load,
            "connections_failed": failed}


def _lost(r: dict[str, Any]) -> int:
    return int(r["before_sink"] + r["queue_drops"] + max(0, r["unwritten"]) + r["socket_drops"]
               + (r["connected"] != 2 * r["calls"]) + r["connections_failed"])


async def shard(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = await run(args.calls, args.seconds, args.client_processes, args.kbps,
                           Path(tmp), not args.no_record, args.profile)
    print(json.dumps(result), flush=True)


async def box(calls: int, args: argparse.Namespace) -> dict[str, Any]:
    """``calls`` spread over ``--workers`` media worker processes (one per core, as a
    deployment would run them), measured together."""
    shares = [calls // args.workers + (1 if i < calls % args.workers else 0)
              for i in range(args.workers)]
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.capacity", "--role", "shard", "--calls", str(share),
        "--seconds", str(args.seconds), "--kbps", str(args.kbps),
        "--client-processes", str(max(1, args.client_processes // args.workers)),
        *(["--no-record"] if args.no_record else []),
        stdout=asyncio.subprocess.PIPE) for share in shares if share]
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
        print(f"    worker process: {results[-1]}", file=sys.stderr, flush=True)
    total: dict[str, Any] = {key: sum(r[key] for r in results) for key in results[0]
                             if key not in ("lag_p99_ms", "lag_max_ms", "load", "cpu_per_call")}
    total["lag_p99_ms"] = max(r["lag_p99_ms"] for r in results)
    total["lag_max_ms"] = max(r["lag_max_ms"] for r in results)
    total["load"] = max(r["load"] for r in results)
    total["cpu_per_call"] = total["cpu_per_s"] / calls
    total["workers"] = len(results)
    return total


async def main(args: argparse.Namespace) -> None:
    results = []
    for calls in [args.calls, *args.sweep]:
        result = await box(calls, args)
        print(f"  {result}", file=sys.stderr, flush=True)
        results.append(result)
    print("| recorded 1:1 calls | worker processes | streams in | worker CPU-s/s | per call |"
          " loop lag p99 / max (ms) |"
          " frames lost before the recorder | queue drops | not written | frames written |"
          " forwarded packets missing | UDP socket drops | load avg |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['calls']} | {r['workers']} | {2 * r['calls']} video + {2 * r['calls']} audio |"
              f" {r['cpu_per_s']:.3f} | {r['cpu_per_call']:.4f} |"
              f" {r['lag_p99_ms']:.0f} / {r['lag_max_ms']:.0f} |"
              f" {r['before_sink']} | {r['queue_drops']} | {max(0, r['unwritten'])} |"
              f" {r['frames_written']} | {r['forward_missing']} | {r['socket_drops']} |"
              f" {r['load']:.1f} |")
    lossless = [r["calls"] for r in results if _lost(r) == 0]
    print(f"\nMost recorded calls with no frame lost: {max(lossless) if lossless else 'none'} "
          f"(of {[r['calls'] for r in results]}); {args.seconds:g} s measured after 5 s.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sweep", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[])
    parser.add_argument("--workers", type=int, default=2,
                        help="media worker processes the calls are spread over")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--kbps", type=int, default=500)
    parser.add_argument("--no-record", action="store_true",
                        help="forward only (what recording adds shows against a run without)")
    parser.add_argument("--profile", metavar="FILE",
                        help="--role shard: cProfile the window into FILE (a dev tool)")
    parser.add_argument("--role", choices=["box", "shard", "clients"], default="box")
    arguments = parser.parse_args()
    if arguments.role == "clients":
        asyncio.run(clients(arguments.calls, arguments.kbps))
    elif arguments.role == "shard":
        asyncio.run(shard(arguments))
    else:
        asyncio.run(main(arguments))
