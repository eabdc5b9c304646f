"""The one global patch: aiortc's codec look-ups, dispatched by who owns the receiver or sender.

aiortc's receiver calls the module-level ``aiortc.rtcrtpreceiver.get_decoder`` in its decoder
thread, and its sender calls ``aiortc.rtcrtpsender.get_encoder`` in its RTP task. Both names are
replaced, once per process, by hooks that look up whether the calling receiver or sender belongs
to a media worker:

- a worker's receiver gets ``PassthroughDecoder`` for VP8 and Opus (a fallback: its frame
  queue, ``rooms.media.delivery``, hands those on in the event loop and never passes them to
  the thread); any other codec gets the real decoder wrapped in a counter (the worker
  negotiates only VP8 and Opus, so that counter staying at zero is what proves nothing is
  decoded);
- a worker's sender gets the real encoder wrapped in a counter of ``encode`` calls (``pack``,
  used for ``av.Packet``, is not counted);
- everything else (peer connections that are not the worker's, such as test clients in the
  same process) gets aiortc's stock codecs, untouched.

The registry lives on the installed hooks, not in this module, so a second worker (or a second
import) finds and reuses it.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import av
from aiortc import rtcrtpreceiver, rtcrtpsender
from aiortc.codecs.base import Decoder, Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from av.frame import Frame

from rooms.media.counters import MediaCounters
from rooms.media.passthrough import PASSTHROUGH_MIME_TYPES, PassthroughDecoder, ReceiverState

_HOOK_MARK = "parley_codec_hook"
# Private aiortc attributes read to recognise the caller (checked by tests/rooms/test_canary.py).
RECEIVER_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"
SENDER_TASK_ATTR = "_RTCRtpSender__rtp_task"
# Module-level names aiortc looks up on every new decoder / encoder.
DECODER_LOOKUP = "get_decoder"
ENCODER_LOOKUP = "get_encoder"


@dataclass(frozen=True)
class _ReceiverOwner:
    state: ReceiverState
    counters: MediaCounters


class CountingDecoder(Decoder):
    """A real decoder whose every ``decode`` call is counted against a worker."""

    def __init__(self, inner: Decoder, counters: MediaCounters) -> None:
        self._inner = inner
        self._counters = counters

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        self._counters.decoded()
        return self._inner.decode(encoded_frame)


class CountingEncoder(Encoder):
    """A real encoder whose every ``encode`` call is counted against a worker."""

    def __init__(self, inner: Encoder, counters: MediaCounters) -> None:
        self._inner = inner
        self._counters = counters

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        self._counters.encoded()
        return self._inner.encode(frame, force_keyframe)

    def pack(self, packet: av.Packet[Any]) -> tuple[list[bytes], int]:
        return self._inner.pack(packet)

    def __getattr__(self, name: str) -> Any:
        # The sender sets ``target_bitrate`` on video encoders when REMB arrives.
        return getattr(self._inner, name)


class CodecRegistry:
    """Which receivers and senders belong to a worker; weak, so closed ones fall away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._receivers: weakref.WeakKeyDictionary[RTCRtpReceiver, _ReceiverOwner] = (
            weakref.WeakKeyDictionary())
        self._senders: weakref.WeakKeyDictionary[RTCRtpSender, MediaCounters] = (
            weakref.WeakKeyDictionary())

    def own_receiver(self, receiver: RTCRtpReceiver, state: ReceiverState,
                     counters: MediaCounters) -> None:
        with self._lock:
            self._receivers[receiver] = _ReceiverOwner(state, counters)

    def own_sender(self, sender: RTCRtpSender, counters: MediaCounters) -> None:
        with self._lock:
            self._senders[sender] = counters

    def receiver_owner(self, thread: threading.Thread) -> _ReceiverOwner | None:
        with self._lock:
            items = list(self._receivers.items())
        for receiver, owner in items:
            if getattr(receiver, RECEIVER_THREAD_ATTR, None) is thread:
                return owner
        return None

    def sender_owner(self, task: asyncio.Task[Any] | None) -> MediaCounters | None:
        if task is None:
            return None
        with self._lock:
            items = list(self._senders.items())
        for sender, counters in items:
            if getattr(sender, SENDER_TASK_ATTR, None) is task:
                return counters
        return None


class _DecoderHook:
    def __init__(self, registry: CodecRegistry, real: Any) -> None:
        setattr(self, _HOOK_MARK, True)
        self.registry = registry
        self.real = real

    def __call__(self, codec: RTCRtpCodecParameters) -> Decoder:
        owner = self.registry.receiver_owner(threading.current_thread())
        if owner is None:
            return self.real(codec)  # type: ignore[no-any-return]
        if codec.mimeType.lower() in PASSTHROUGH_MIME_TYPES:
            return PassthroughDecoder(codec, owner.state)
        return CountingDecoder(self.real(codec), owner.counters)


class _EncoderHook:
    def __init__(self, registry: CodecRegistry, real: Any) -> None:
        setattr(self, _HOOK_MARK, True)
        self.registry = registry
        self.real = real

    def __call__(self, codec: RTCRtpCodecParameters) -> Encoder:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        counters = self.registry.sender_owner(task)
        encoder: Encoder = self.real(codec)
        return encoder if counters is None else CountingEncoder(encoder, counters)


def install_codec_hooks() -> CodecRegistry:
    """Install the hooks into aiortc if not yet there (idempotent) and return their registry."""
    current = getattr(rtcrtpreceiver, DECODER_LOOKUP)
    if getattr(current, _HOOK_MARK, False):
        registry: CodecRegistry = current.registry
        return registry
    registry = CodecRegistry()
    setattr(rtcrtpreceiver, DECODER_LOOKUP, _DecoderHook(registry, current))
    setattr(rtcrtpsender, ENCODER_LOOKUP,
            _EncoderHook(registry, getattr(rtcrtpsender, ENCODER_LOOKUP)))
    return registry
