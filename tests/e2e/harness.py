"""End-to-end harness: the product as a real process, driven by real headless Chromium."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    # host candidates as plain loopback IPs instead of mDNS names
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
PARLEY = str(Path(sys.executable).parent / "parley")
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def parley(self, *args: str) -> str:
        result = subprocess.run([PARLEY, *args], env=self.env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def add_lawyer(self, username: str, **extra: str) -> None:
        args = ["user", "add", "--role", "lawyer", "--username", username, "--password", PASSWORD,
                "--display-name", extra.get("display_name", f"{username} 律师")]
        self.parley(*args)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def start_server(data_dir: Path, extra_env: Mapping[str, str] = {},
                       args: Sequence[str] = (), start_s: float = 120,
                       port: int | None = None) -> ServerProcess:
    """``parley serve`` with ``extra_env``, once its /healthz answers (within ``start_s``), on
    ``port`` (None: a free one)."""
    port = port or free_port()
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_PORT": str(port),
           "PARLEY_HOST": "127.0.0.1", **extra_env}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra_env)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen([PARLEY, "serve", *args], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", env, process, log_path)
    deadline = time.monotonic() + start_s
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {server.log()}")
            try:
                async with session.get(server.url + "/healthz") as response:
                    if response.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"server did not start: {server.log()}")
            await asyncio.sleep(0.1)


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                            headless=True)


async def new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        base_url=base_url, permissions=["camera", "microphone"],
        viewport={"width": 390, "height": 844}, locale="zh-CN",
    )
    page = await context.new_page()
    return context, page


# Reads the inbound video stats of the page's current peer connection.
VIDEO_STATS_JS = """
async () => {
  const call = window.parleyCall;
  const pc = call && call.pc;
  const video = document.querySelector('[data-testid="remote-video"]');
  const result = {framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0,
                  concealedSamples: 0, totalSamplesReceived: 0,
                  videoWidth: video ? video.videoWidth : 0, state: pc ? pc.connectionState : 'none'};
  if (!pc) return result;
  const stats = await pc.getStats();
  stats.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') {
      result.framesDecoded += s.framesDecoded || 0;
      result.freezeCount += s.freezeCount || 0;
      result.totalFreezesDuration += s.totalFreezesDuration || 0;
    } else if (s.kind === 'audio') {
      result.concealedSamples += s.concealedSamples || 0;
      result.totalSamplesReceived += s.totalSamplesReceived || 0;
    }
  });
  return result;
}
"""


async def video_stats(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(VIDEO_STATS_JS)
    return stats


async def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` (async, returning a truthy value when done) until ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


async def wait_video_playing(page: Page, timeout: float = 20) -> dict[str, Any]:
    """The remote video has a size and its decoded frame count keeps increasing."""
    async def first() -> Any:
        s = await video_stats(page)
        return s if s["videoWidth"] > 0 and s["framesDecoded"] > 0 else None

    start = await wait_until(first, timeout, "remote video frames")

    async def advancing() -> Any:
        s = await video_stats(page)
        return s if s["framesDecoded"] >= start["framesDecoded"] + 10 else None

    result: dict[str, Any] = await wait_until(advancing, timeout, "decoded frames increasing")
    return result
