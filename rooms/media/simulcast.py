"""Simulcast in mediation rooms: which layer each receiver gets, and the switch between layers.
Pure: no I/O, no aiortc objects (docs/media.md "Simulcast").

The mediation page sends its camera as two VP8 layers (320x240 and 640x480) on one m-line,
announced the way Chromium's legacy simulcast takes them (``a=ssrc-group:SIM low high`` plus
one ``a=ssrc-group:FID media rtx`` per layer; docs/decisions.md says why not rid).
- ``layers_from_offer``: the layers' SSRCs (lowest first) and their RTX SSRCs, from the offer.
- ``LayerRates``: each layer's bitrate as it arrives at the worker (None: not arriving; the
  browser stops the high layer when its uplink estimate is too low for it).
- ``LayerChooser``: one receiver's layer from its bandwidth estimate (REMB) and loss.
- ``LayerSwitch``: which layer's packets reach the receiver's stream now; a switch happens only
  at the first packet of a keyframe of the target layer, and the stream's rewriter
  (``rooms.media.rewrite``) then numbers the new layer on from the old one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiortc import sdp as aiortc_sdp

from rooms.media.rewrite import StreamRewriter, vp8_info

MAX_LAYERS = 3

# LayerRates
RATE_WINDOW = 1.0       # s: a layer's bitrate is measured over windows this long
LAYER_GONE_AFTER = 1.0  # s without a packet: the layer is not arriving

# LayerChooser
FITS = 0.9              # a layer fits while the estimate is at least this share of its bitrate
UP_HEADROOM = 1.0       # step up on the estimate alone once it covers the higher layer's bitrate
UP_AFTER = 2.0          # s the higher layer must fit before stepping up
DOWN_AFTER = 1.0        # s the current layer must not fit (and the estimate not rise) to step down
RISE_WINDOW = 3.0       # s over which a rising estimate (a browser still ramping up) is seen
RISING = 1.03           # the estimate rose by at least this factor over ``RISE_WINDOW``
LOSS_BAD = 0.10         # reported loss over this, for ``DOWN_AFTER``: step down one layer
PROBE_AFTER = 8.0       # s steady on a lower layer before trying the next one up
PROBE_MAX = 20.0        # the wait doubles after each failed probe, up to this
PROBE_HELD = 6.0        # s a probed layer must hold for the probe to count as good
RATE_FLOOR = 30_000     # bit/s: a layer measured lower than this (just starting) counts as this
KEYFRAME_RETRY = 0.3    # s: while a switch waits, the target layer's keyframe is asked again


@dataclass(frozen=True)
class Layers:
    """A publisher's simulcast layers: media SSRCs lowest first, RTX SSRC -> media SSRC."""

    media: tuple[int, ...]
    rtx: dict[int, int] = field(default_factory=dict)

    def index(self, ssrc: int) -> int | None:
        try:
            return self.media.index(ssrc)
        except ValueError:
            return None


def layers_from_offer(sdp: str) -> Layers | None:
    """The simulcast layers of the offer's first video m-line, or None when it has none (one
    layer, or anything else than ``a=ssrc-group:SIM`` with 2-3 distinct SSRCs)."""
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception:  # the parser raises anything; the offer checks report it
        return None
    video = next((m for m in description.media if m.kind == "video"), None)
    if video is None:
        return None
    sim = [g for g in video.ssrc_group if g.semantic == "SIM"]
    if len(sim) != 1:
        return None
    media = tuple(int(s) for s in sim[0].items)
    if not 2 <= len(media) <= MAX_LAYERS or len(set(media)) != len(media):
        return None
    rtx: dict[int, int] = {}
    for group in video.ssrc_group:
        if group.semantic == "FID" and len(group.items) == 2 and int(group.items[0]) in media:
            rtx[int(group.items[1])] = int(group.items[0])
    if set(rtx) & set(media):
        return None
    return Layers(media, rtx)


class LayerRates:
    """Bitrate per layer as it arrives (bit/s, over the last full ``RATE_WINDOW``)."""

    def __init__(self, count: int) -> None:
        self._start = [0.0] * count
        self._bytes = [0] * count
        self._rate = [0] * count
        self._last = [float("-inf")] * count

    def add(self, layer: int, size: int, now: float) -> None:
        if now - self._last[layer] >= LAYER_GONE_AFTER:
            self._start[layer] = now  # (re)starting: measure afresh
            self._bytes[layer] = 0
            self._rate[layer] = 0
        self._last[layer] = now
        self._bytes[layer] += size
        elapsed = now - self._start[layer]
        if elapsed >= RATE_WINDOW:
            self._rate[layer] = int(self._bytes[layer] * 8 / elapsed)
            self._start[layer] = now
            self._bytes[layer] = 0

    def rates(self, now: float) -> list[int | None]:
        """Per layer: its bitrate, or None when it is not arriving."""
        return [None if now - last >= LAYER_GONE_AFTER else max(rate, RATE_FLOOR)
                for rate, last in zip(self._rate, self._last, strict=True)]

    def highest(self, now: float) -> int | None:
        """The highest layer arriving now (the recorder's)."""
        active = [i for i, r in enumerate(self.rates(now)) if r is not None]
        return active[-1] if active else None


class LayerChooser:
    """One receiver's layer. ``update`` is fed every tick with the receiver's latest estimate
    (None: none yet, or stale), its reported loss and the layers' rates; returns the layer
    wanted now (None: no layer arrives).

    - No estimate yet: the highest layer arriving.
    - Down, to the highest layer that fits, when the current one has not fitted
      (estimate < ``FITS`` x its bitrate) for ``DOWN_AFTER`` s while the estimate is not
      rising: a browser ramping up after a switch starts below what it receives and climbs;
      a congested one falls and stays. One layer down on loss over ``LOSS_BAD``.
    - Up when the higher layer fits with ``UP_HEADROOM`` for ``UP_AFTER`` s. Chromium's estimate
      stays within about 1.5 x what it receives, so a receiver on the small layer rarely sees
      an estimate that covers the large one: after ``PROBE_AFTER`` s steady (no loss, estimate
      not falling), or as soon as a higher layer starts arriving, the next layer is tried. A
      probe whose estimate falls 3% or that loses over ``LOSS_BAD`` is left at once; if it is
      left within ``PROBE_HELD`` s the wait doubles (up to ``PROBE_MAX``).
    """

    def __init__(self, now: float) -> None:
        self.layer: int | None = None
        self._since = now            # when the current layer was chosen
        self._bad_since: float | None = None
        self._loss_since: float | None = None
        self._up_since: float | None = None
        self._probe_after = PROBE_AFTER
        self._probed_at: float | None = None  # when the current layer was reached by a probe
        self._probe_estimate = 0  # the estimate then
        self._arriving: frozenset[int] = frozenset()  # the layers arriving at the last update
        self._history: deque[tuple[float, int]] = deque()

    def update(self, now: float, estimate: int | None, loss: float,
               rates: Sequence[int | None]) -> int | None:
        active = [i for i, r in enumerate(rates) if r is not None]
        if not active:
            return self.layer
        appeared, self._arriving = frozenset(active) - self._arriving, frozenset(active)
        if estimate is not None:
            self._history.append((now, estimate))
        while self._history and now - self._history[0][0] > RISE_WINDOW:
            self._history.popleft()
        if self.layer is None or self.layer not in active or estimate is None:
            # No estimate yet (or a stale one): the highest layer arriving (the browser starts
            # with the small one and adds the large one as its uplink estimate grows).
            self._choose(now, self._best(estimate, rates, active) if estimate is not None
                         else active[-1])
            return self.layer
        if self._probed_at is not None and now - self._probed_at >= PROBE_HELD:
            self._probed_at = None
            self._probe_after = PROBE_AFTER  # the probe held: the link carries the layer
        current = self.layer
        lower = [i for i in active if i < current]
        higher = [i for i in active if i > current]
        if lower and self._probed_at is not None and (
                loss > LOSS_BAD or estimate * RISING < self._probe_estimate):
            # A probe the link does not carry: its estimate falls (or it loses packets) within
            # a report or two; back at once, before the queue it fills freezes the picture.
            self._step_down(now, lower[-1])
            return self.layer
        if lower and loss > LOSS_BAD:
            self._loss_since = self._loss_since if self._loss_since is not None else now
            if now - self._loss_since >= DOWN_AFTER:
                self._step_down(now, lower[-1])
                return self.layer
        else:
            self._loss_since = None
        if lower and not self._fits(estimate, rates[current], FITS) and not self._rising(now):
            self._bad_since = self._bad_since if self._bad_since is not None else now
            if now - self._bad_since >= DOWN_AFTER:
                self._step_down(now, self._best(estimate, rates, lower))
            return self.layer
        self._bad_since = None
        if not higher:
            return self.layer
        if self._fits(estimate, rates[higher[0]], UP_HEADROOM):
            self._up_since = self._up_since if self._up_since is not None else now
            if now - self._up_since >= UP_AFTER:
                self._choose(now, higher[0])
            return self.layer
        self._up_since = None
        # A layer that has just appeared (the publisher's uplink now carries it) is probed at
        # once, unless a probe failed here before: at the start of a call the browser sends
        # the small layer first, and every receiver would otherwise wait ``PROBE_AFTER``.
        fresh = higher[0] in appeared and self._probe_after == PROBE_AFTER
        if ((fresh or now - self._since >= self._probe_after) and loss <= LOSS_BAD / 2
                and not self._falling()):
            self._choose(now, higher[0])
            self._probed_at = now
            self._probe_estimate = estimate
        return self.layer

    @staticmethod
    def _fits(estimate: int, rate: int | None, share: float) -> bool:
        return rate is not None and estimate >= share * rate

    def _best(self, estimate: int | None, rates: Sequence[int | None],
              candidates: Sequence[int]) -> int:
        if estimate is None:
            return candidates[-1]
        fitting = [i for i in candidates if self._fits(estimate, rates[i], FITS)]
        return fitting[-1] if fitting else candidates[0]

    def _rising(self, now: float) -> bool:
        history = self._history
        if not history or now - history[0][0] < RISE_WINDOW - 0.5:
            return True  # too little seen to tell a climbing estimate from a stuck one
        return history[-1][1] >= RISING * history[0][1]

    def _falling(self) -> bool:
        return bool(self._history) and self._history[-1][1] * RISING < max(
            e for _, e in self._history)

    def _step_down(self, now: float, layer: int) -> None:
        if self._probed_at is not None:
            self._probe_after = min(self._probe_after * 2, PROBE_MAX)  # the probe failed
            self._probed_at = None
        self._choose(now, layer)

    def _choose(self, now: float, layer: int) -> None:
        if layer != self.layer:
            self.layer = layer
            self._since = now
            self._history.clear()
        self._bad_since = None
        self._loss_since = None
        self._up_since = None


#: Asks the publisher for a keyframe of one layer (its index).
AskKeyframe = Callable[[int], None]


class LayerSwitch:
    """Which layer's packets reach one receiver's stream. ``target`` is what the chooser
    wants; ``current`` what is forwarded, until the target's keyframe arrives."""

    def __init__(self, rewriter: StreamRewriter, ask_keyframe: AskKeyframe) -> None:
        self.rewriter = rewriter
        self.current: int | None = None
        self.target: int | None = None
        self.switches = 0
        self._ask = ask_keyframe
        self._asked = float("-inf")

    def want(self, layer: int | None, now: float) -> None:
        if layer is None or layer == self.target:
            return
        self.target = layer
        if layer != self.current:
            self._asked = now
            self._ask(layer)

    def admit(self, layer: int, payload: bytes, source: object, now: float) -> bool:
        """Whether this packet of ``layer`` goes to the receiver; switches the stream's source
        to ``(source, layer)`` at the target layer's first keyframe packet."""
        if layer == self.current:
            return True
        if layer != self.target:
            return False
        info = vp8_info(payload)
        if info is None or not info.keyframe_start:
            if now - self._asked >= KEYFRAME_RETRY:
                self._asked = now
                self._ask(layer)
            return False
        # The new layer continues the old one's numbering (sequence, timestamp, picture ID,
        # TL0PICIDX): the receiver sees one stream and decodes on from this keyframe.
        self.rewriter.switch((source, layer))
        if self.current is not None:
            self.switches += 1
        self.current = layer
        return True

    def keyframe_layer(self) -> int | None:
        """The layer a keyframe request for this receiver is for: the one it waits for."""
        return self.target if self.target is not None else self.current

    def restart(self) -> None:
        """The stream starts over (a new source, a trial after audio only): the next
        keyframe of the target layer starts it."""
        self.current = None
