"""Benchmark the recorder (a program, not a test).

    .venv/bin/python -m bench.recording --streams 20 [--seconds 10] [--sweep 30,40,50]

One process (this one) receives N synthetic 640x480 30 fps VP8 + Opus streams over real aiortc
peer connections on loopback from aiortc senders in ANOTHER process (this module with
``--role sender``: pre-encoded packets, paced in real time, only packetised and encrypted), and
records them:
- "recorder": the media worker with the Parley recorder as its sink (encoded frames to WebM);
- "MediaRecorder": plain aiortc peer connections decoding, with aiortc's stock
  ``MediaRecorder`` re-encoding to .webm (with --baseline-streams streams: it cannot keep up
  with many on two cores, so its numbers are per stream and media second);
- "worker, not recording": the same media worker receiving the same N streams with no sink,
  so what recording adds to the loop lag and the CPU shows.
For each: CPU seconds of this process per media second, and the event-loop lag p99 (a 10 ms
timer's lateness). Then the largest N (from --sweep) the recorder takes with no frame lost:
no gap in any stream's RTP timestamps at the sink, no queue drop, every accepted frame written.
Prints a markdown table with the CPU ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamTrack

from recordings.probe import probe
from recordings.recorder import Recorder
from recordings.storage import LocalRecordingStorage
from recordings.writer import WriterEvent
from rooms.media.local import LocalMediaWorker
from rooms.messages import Answer, Negotiate, OpenRoom, ParticipantId, RoomId, StartRecording, StopRecording

WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_STEP, AUDIO_STEP = 90000 // FPS, 960
PID = ParticipantId("p")

# -- sender process -------------------------------------------------------------------------


def encode_clip(seconds: float = 2.0) -> tuple[list[av.Packet[Any]], list[av.Packet[Any]]]:
    """A loopable clip: 640x480 VP8 (keyframe first, 600 kbps) and 20 ms Opus packets."""
    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.time_base, video.bit_rate = fractions.Fraction(1, 90000), 600_000
    video.gop_size = int(seconds * FPS)
    video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    ramp = bytes(range(256)) * (WIDTH * HEIGHT // 256 + 8)
    vpackets: list[av.Packet[Any]] = []
    for i in range(int(seconds * FPS)):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(ramp[i * 4 % 256:][:frame.planes[0].buffer_size])
        for plane in frame.planes[1:]:
            plane.update(bytes([i % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = i * VIDEO_STEP, fractions.Fraction(1, 90000)
        vpackets += video.encode(frame)
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = 48000, "stereo", "s16"
    apackets: list[av.Packet[Any]] = []
    for i in range(int(seconds * 50)):
        samples = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_STEP)
        samples.planes[0].update(bytes([i % 7]) * samples.planes[0].buffer_size)
        samples.sample_rate, samples.pts = 48000, i * AUDIO_STEP
        samples.time_base = fractions.Fraction(1, 48000)
        apackets += audio.encode(samples)
    return vpackets, apackets


class ClipTrack(MediaStreamTrack):
    """Yields the clip's packets in a loop at real-time pace, timestamps continuing."""

    def __init__(self, kind: str, packets: list[av.Packet[Any]], step: int, rate: int,
                 start: float) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._step, self._rate, self._start = packets, step, rate, start
        self.sent = 0

    async def recv(self) -> av.Packet[Any]:  # type: ignore[override]
        due = self._start + self.sent * self._step / self._rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing like a camera, not synchronisation
        source = self._packets[self.sent % len(self._packets)]
        packet = av.Packet(bytes(source))
        packet.pts, packet.time_base = self.sent * self._step, fractions.Fraction(1, self._rate)
        packet.is_keyframe = source.is_keyframe
        self.sent += 1
        return packet


async def sender(streams: int) -> None:
    vclip, aclip = encode_clip()
    start = time.monotonic() + 1.0
    pcs, tracks = [], []
    for _ in range(streams):
        pc = RTCPeerConnection()
        video = ClipTrack("video", vclip, VIDEO_STEP, 90000, start)
        audio = ClipTrack("audio", aclip, AUDIO_STEP, 48000, start)
        transceiver = pc.addTransceiver(video, "sendonly")
        caps = RTCRtpSender.getCapabilities("video")
        transceiver.setCodecPreferences([c for c in caps.codecs if c.mimeType == "video/VP8"])
        pc.addTransceiver(audio, "sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        pcs.append(pc)
        tracks.append((video, audio))
    print(json.dumps({"offers": [pc.localDescription.sdp for pc in pcs]}), flush=True)
    answers = json.loads(await asyncio.to_thread(sys.stdin.readline))["answers"]
    for pc, sdp in zip(pcs, answers, strict=True):
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
    await asyncio.to_thread(sys.stdin.readline)  # "stop"
    print(json.dumps({"video_sent": [v.sent for v, _ in tracks]}), flush=True)
    for pc in pcs:
        await pc.close()


# -- receiving process ----------------------------------------------------------------------


@dataclass
class GapCountingSink:
    """The recorder behind a counter of frames missing at the sink (RTP timestamp gaps)."""

    recorder: Recorder
    last: dict[tuple[str, str], int] = field(default_factory=dict)
    accepted: dict[tuple[str, str], int] = field(default_factory=dict)
    missing: int = 0  # frames missing inside gaps of up to 10 s
    jumps: int = 0  # larger timestamp jumps (a stall or a reset): counted as losses too

    def packet(self, room_id: RoomId, participant_id: ParticipantId, kind: str,
               packet: av.Packet[Any], arrival: float) -> None:
        key, step = (room_id, kind), VIDEO_STEP if kind == "video" else AUDIO_STEP
        if packet.pts is not None:
            previous = self.last.get(key)
            gap = packet.pts - previous if previous is not None else step
            if step * 1.5 < gap <= step * 500:
                self.missing += round(gap / step) - 1
            elif gap > step * 500 or gap <= 0:
                self.jumps += 1
            self.last[key] = packet.pts
        self.accepted[key] = self.accepted.get(key, 0) + 1
        self.recorder.packet(room_id, participant_id, kind, packet, arrival)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)  # lifecycle and wants_keyframe


@dataclass
class Result:
    label: str
    streams: int
    cpu_per_media_s: float
    lag_p99_ms: float
    lost: int | None = None
    sender_cpu: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average after the phase (other work)
    lost_detail: str = ""


class LagMonitor:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - t - 0.01)

    def stop(self) -> float:
        self._task.cancel()
        return statistics.quantiles(self.lags, n=100)[98] * 1000 if len(self.lags) > 10 else 0.0


async def run_phase(label: str, streams: int, seconds: float, folder: Path) -> Result:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.recording", "--role", "sender", "--streams", str(streams),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 24)
    assert proc.stdin is not None and proc.stdout is not None
    offers = json.loads(await proc.stdout.readline())["offers"]
    events: list[WriterEvent] = []
    recorder = Recorder(LocalRecordingStorage(folder), events.append)
    sink = GapCountingSink(recorder)
    worker = LocalMediaWorker([], True, sink=None if label == "worker, not recording"
                              else sink)  # type: ignore[arg-type]
    baseline: list[tuple[RTCPeerConnection, MediaRecorder, asyncio.Event]] = []
    answers = []
    for i, sdp in enumerate(offers):
        room = RoomId(f"room{i}")
        if label != "MediaRecorder":
            await worker.request(OpenRoom(room))
            reply = await worker.request(Negotiate(room, PID, sdp))
            assert isinstance(reply, Answer), reply
            answers.append(reply.sdp)
        else:
            pc, media = RTCPeerConnection(), MediaRecorder(str(folder / f"{i}.webm"))
            pc.on("track", media.addTrack)
            connected = asyncio.Event()
            pc.on("connectionstatechange",
                  lambda pc=pc, ev=connected: ev.set() if pc.connectionState == "connected" else None)
            await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            answers.append(pc.localDescription.sdp)
            baseline.append((pc, media, connected))
    proc.stdin.write((json.dumps({"answers": answers}) + "\n").encode())
    await proc.stdin.drain()
    for _, media, connected in baseline:
        await asyncio.wait_for(connected.wait(), 30)
        await media.start()
    for i in range(len(offers) if label == "recorder" else 0):
        await worker.request(StartRecording(RoomId(f"room{i}"), f"rec{i}", (PID,), "bench"))
    await asyncio.sleep(3.0)  # warm-up: connections, first keyframes, jitter buffers
    cpu, wall, monitor = time.process_time(), time.monotonic(), LagMonitor()
    sender_cpu0 = _cpu_of(proc.pid)
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    lag, sender_cpu = monitor.stop(), _cpu_of(proc.pid) - sender_cpu0
    for i in range(len(offers) if label == "recorder" else 0):
        await worker.request(StopRecording(RoomId(f"room{i}"), f"rec{i}"))
    for pc, media, _ in baseline:
        await media.stop()
        await pc.close()
    proc.stdin.write(b'"stop"\n')
    await proc.stdin.drain()
    await proc.stdout.readline()
    await proc.wait()
    await worker.close()
    await asyncio.to_thread(recorder.close, 30)
    lost, detail = None, ""
    if label == "recorder":
        written = await asyncio.to_thread(_written, folder)
        skipped = sum(getattr(e, "skipped_until_keyframe", 0) for e in events)
        dropped = sum(recorder.dropped().values()) + sum(
            sum(getattr(e, "dropped", {}).values()) for e in events if hasattr(e, "segments"))
        unwritten = sum(sink.accepted.values()) - skipped - written
        lost = sink.missing + sink.jumps + dropped + unwritten
        detail = (f"{sink.missing + sink.jumps} before the sink, {dropped} queue drops, "
                  f"{unwritten} not written")
    return Result(label, streams, cpu / (streams * wall), lag, lost, sender_cpu / wall,
                  os.getloadavg()[0], detail)


def _written(folder: Path) -> int:
    return sum(sum(probe(p).packets.values()) for p in folder.rglob("*.webm"))


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, USER_HZ = 100


async def main(args: argparse.Namespace) -> None:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        phases = [("MediaRecorder", args.baseline_streams), ("recorder", args.streams),
                  ("worker, not recording", args.streams),
                  *(("recorder", n) for n in args.sweep)]
        for index, (label, streams) in enumerate(phases):
            folder = Path(tmp) / str(index)
            folder.mkdir()
            result = await run_phase(label, streams, args.seconds, folder)
            print(f"  {label} N={streams}: {result}", file=sys.stderr, flush=True)
            results.append(result)
    base, ours = results[0], results[1]
    recorded = [r for r in results[1:] if r.label == "recorder"]
    lossless = [r.streams for r in recorded if r.lost == 0]
    print("| receiving process | streams | CPU-s per media-s | loop lag p99 (ms) | frames lost |"
          " sender process CPU | load avg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        lost = "-" if r.lost is None else f"{r.lost} ({r.lost_detail})" if r.lost else "0"
        print(f"| {r.label} | {r.streams} | {r.cpu_per_media_s:.4f} | {r.lag_p99_ms:.1f} | {lost} |"
              f" {r.sender_cpu:.2f} | {r.load:.1f} |")
    ratio = base.cpu_per_media_s / ours.cpu_per_media_s if ours.cpu_per_media_s else float("inf")
    print(f"\nMediaRecorder / recorder CPU per media second: {ratio:.1f}x. "
          f"Largest N recorded with no frame lost: {max(lossless) if lossless else 'none'} "
          f"(of {sorted({r.streams for r in recorded})}). Switch interval "
          f"{sys.getswitchinterval() * 1000:g} ms.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-streams", type=int, default=1)
    parser.add_argument("--sweep", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[])
    parser.add_argument("--role", choices=["receiver", "sender"], default="receiver")
    parser.add_argument("--switch-interval-ms", type=float, default=None,
                        help="sys.setswitchinterval for the receiving process (default 5 ms)")
    arguments = parser.parse_args()
    if arguments.switch_interval_ms:
        sys.setswitchinterval(arguments.switch_interval_ms / 1000)
    if arguments.role == "sender":
        asyncio.run(sender(arguments.streams))
    else:
        asyncio.run(main(arguments))
