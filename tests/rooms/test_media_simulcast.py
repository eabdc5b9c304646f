"""Simulcast, pure parts (rooms.media.simulcast): the layers named in an offer, each layer's
rate, the layer chosen for a receiver from its estimate, and the switch between layers that
the receiver sees as one continuous stream."""

from __future__ import annotations

from rooms.media.rewrite import StreamRewriter, vp8_info
from rooms.media.simulcast import (
    DOWN_AFTER,
    PROBE_AFTER,
    PROBE_HELD,
    RISE_WINDOW,
    UP_AFTER,
    LayerChooser,
    LayerRates,
    LayerSwitch,
    layers_from_offer,
)

VIDEO_RATE = 90000
LOW, HIGH = 150_000, 500_000

OFFER = """v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
c=IN IP4 0.0.0.0\r
a=mid:0\r
a=sendrecv\r
a=rtpmap:96 VP8/90000\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
a=fingerprint:sha-256 {fp}\r
a=setup:actpass\r
{groups}""".replace("{fp}", ":".join(["AB"] * 32))


def offer(groups: str) -> str:
    return OFFER.replace("{groups}", groups)


def vp8(picture_id: int, tl0: int, *, keyframe: bool, start: bool = True) -> bytes:
    """A VP8 payload with a 15-bit picture ID and a TL0PICIDX (temporal layers, as Chromium
    sends simulcast), then a frame's first bytes."""
    first = 0x90 if start else 0x80  # X, and S at a frame's start
    header = bytes([first, 0xE0, 0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF, tl0, 0x00])
    frame = (b"\x10\x02\x00\x9d\x01\x2a" if keyframe else b"\x11\x02\x00") + b"data"
    return header + frame


def test_the_layers_come_from_the_sim_group_and_the_fid_groups() -> None:
    groups = ("a=ssrc-group:SIM 11 22\r\na=ssrc-group:FID 11 111\r\na=ssrc-group:FID 22 222\r\n"
              "a=ssrc:11 cname:x\r\na=ssrc:22 cname:x\r\na=ssrc:111 cname:x\r\n"
              "a=ssrc:222 cname:x\r\n")
    layers = layers_from_offer(offer(groups))
    assert layers is not None
    assert layers.media == (11, 22), "lowest layer first, as the SIM group lists them"
    assert layers.rtx == {111: 11, 222: 22}
    assert layers.index(22) == 1 and layers.index(111) is None
    assert layers_from_offer(offer("a=ssrc-group:FID 11 111\r\na=ssrc:11 cname:x\r\n")) is None
    assert layers_from_offer(offer("a=ssrc-group:SIM 1 2 3 4\r\n")) is None, "3 layers at most"
    assert layers_from_offer(offer("a=ssrc-group:SIM 1 1\r\n")) is None
    assert layers_from_offer("not sdp") is None


def test_layer_rates_and_a_layer_that_stops_arriving() -> None:
    rates = LayerRates(2)
    for i in range(41):  # 2 s: 1250 bytes every 50 ms on layer 0 = 200 kbit/s
        rates.add(0, 1250, i * 0.05)
    assert rates.rates(2.0)[0] == 200_000 and rates.rates(2.0)[1] is None
    rates.add(1, 100, 2.0)
    assert rates.highest(2.01) == 1
    assert rates.rates(3.5) == [None, None] and rates.highest(3.5) is None


def run(chooser: LayerChooser, start: float, end: float, estimate: int | None,
        rates: list[int | None], loss: float = 0.0) -> int | None:
    """Feed the chooser every 100 ms from ``start`` to ``end``; the last layer chosen."""
    layer = chooser.layer
    steps = round((end - start) / 0.1)
    for i in range(steps + 1):
        layer = chooser.update(start + i * 0.1, estimate, loss, rates)
    return layer


def test_a_receiver_starts_on_the_highest_layer_and_steps_down_when_its_estimate_stays_low(
        ) -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, 5.0, None, [LOW, HIGH]) == 1, "no estimate yet: the high layer"
    # A steady estimate under the high layer's rate (a narrow link; or the lab cap).
    layer = run(chooser, 5.1, 5.1 + RISE_WINDOW - 0.2, 200_000, [LOW, HIGH])
    assert layer == 1, "not at the first low figure: it might be a browser still ramping up"
    layer = run(chooser, 5.0 + RISE_WINDOW, 5.0 + RISE_WINDOW + DOWN_AFTER + 0.2, 200_000,
                [LOW, HIGH])
    assert layer == 0


def test_a_rising_estimate_is_not_taken_for_a_narrow_link() -> None:
    chooser = LayerChooser(0.0)
    chooser.update(0.0, None, 0.0, [LOW, HIGH])
    layer = None
    for i in range(100):  # 10 s, climbing 8% a second from 300 kbit/s, as Chromium ramps up
        layer = chooser.update(0.1 * i, int(300_000 * 1.08 ** (0.1 * i)), 0.0, [LOW, HIGH])
    assert layer == 1


def test_loss_steps_down_one_layer() -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, DOWN_AFTER + 0.2, 2_000_000, [LOW, HIGH], loss=0.2) == 0


def test_up_when_the_estimate_covers_the_higher_layer() -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, 0.5, 100_000, [LOW, HIGH]) == 0
    assert run(chooser, 0.6, 0.6 + UP_AFTER - 0.3, 600_000, [LOW, HIGH]) == 0, "held first"
    assert run(chooser, 0.6 + UP_AFTER - 0.2, 0.6 + UP_AFTER + 0.2, 600_000, [LOW, HIGH]) == 1


def test_probing_up_from_a_steady_low_layer_backs_off_when_it_fails() -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, 1.0, 200_000, [LOW, HIGH]) == 0
    assert run(chooser, 1.1, PROBE_AFTER - 0.1, 200_000, [LOW, HIGH]) == 0
    assert run(chooser, PROBE_AFTER, PROBE_AFTER + 0.1, 200_000, [LOW, HIGH]) == 1, "a probe"
    # The estimate does not climb with the high layer: back down within the probe...
    now = PROBE_AFTER + 0.2
    layer: int | None = 1
    while layer == 1:
        assert now < PROBE_AFTER + PROBE_HELD
        layer = chooser.update(now, 200_000, 0.0, [LOW, HIGH])
        now += 0.1
    down = now - 0.1
    assert down - PROBE_AFTER < PROBE_HELD
    # ...and the next probe waits twice as long.
    assert run(chooser, down + 0.1, down + 2 * PROBE_AFTER - 0.2, 200_000, [LOW, HIGH]) == 0
    assert run(chooser, down + 2 * PROBE_AFTER - 0.1, down + 2 * PROBE_AFTER + 0.2, 200_000,
               [LOW, HIGH]) == 1


def test_a_probe_whose_estimate_falls_is_left_at_once() -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, PROBE_AFTER + 0.1, 200_000, [LOW, HIGH]) == 1, "a probe"
    assert chooser.update(PROBE_AFTER + 0.2, 200_000, 0.0, [LOW, HIGH]) == 1
    assert chooser.update(PROBE_AFTER + 0.3, 180_000, 0.0, [LOW, HIGH]) == 0, (
        "the link does not carry it: back at the first falling report")


def test_a_layer_that_starts_arriving_is_probed_at_once() -> None:
    chooser = LayerChooser(0.0)
    # The publisher's browser starts with the small layer only; the receiver has an estimate.
    assert run(chooser, 0.0, 3.0, 200_000, [LOW, None]) == 0
    assert chooser.update(3.1, 200_000, 0.0, [LOW, HIGH]) == 1
    assert chooser.update(3.2, 200_000, 0.0, [LOW, HIGH]) == 1


def test_with_no_estimate_the_highest_layer_arriving_is_followed() -> None:
    chooser = LayerChooser(0.0)
    assert chooser.update(0.0, None, 0.0, [LOW, None]) == 0
    assert chooser.update(0.1, None, 0.0, [LOW, HIGH]) == 1


def test_a_layer_that_stops_arriving_is_left_at_once() -> None:
    chooser = LayerChooser(0.0)
    assert run(chooser, 0.0, 1.0, 900_000, [LOW, HIGH]) == 1
    assert chooser.update(1.1, 900_000, 0.0, [LOW, None]) == 0
    assert chooser.update(1.2, 900_000, 0.0, [None, None]) == 0, "nothing arrives: unchanged"


def test_a_switch_happens_at_the_target_layers_keyframe_and_the_stream_stays_continuous(
        ) -> None:
    rewriter = StreamRewriter("video")
    asked: list[int] = []
    switch = LayerSwitch(rewriter, asked.append)
    source = object()
    rewriter.switch(source)
    switch.want(1, 0.0)
    assert asked == [1], "the target layer's keyframe is asked for"
    out: list[tuple[int, int, bytes]] = []

    def send(layer: int, seq: int, ts: int, payload: bytes, now: float) -> bool:
        if not switch.admit(layer, payload, source, now):
            return False
        rewritten = rewriter.rewrite(seq, ts, payload, VIDEO_RATE, now)
        assert rewritten is not None
        out.append(rewritten)
        return True

    # The high layer (its own numbering) from its keyframe.
    assert send(1, 5000, 900_000, vp8(700, 40, keyframe=True), 0.00)
    assert send(1, 5001, 900_000, vp8(700, 40, keyframe=True, start=False), 0.00)
    assert send(1, 5002, 903_000, vp8(701, 41, keyframe=False), 0.05)
    assert not send(0, 100, 10_000, vp8(20, 3, keyframe=False), 0.05), "not this receiver's"
    # The estimate drops: the low layer is wanted; its delta frames cannot start a stream.
    switch.want(0, 0.06)
    assert asked == [1, 0]
    assert not send(0, 101, 13_000, vp8(21, 4, keyframe=False), 0.07)
    assert send(1, 5003, 906_000, vp8(702, 42, keyframe=False), 0.08), "high until then"
    assert send(0, 102, 16_000, vp8(22, 5, keyframe=True), 0.10), "the switch"
    assert switch.current == 0 and switch.switches == 1
    assert not send(1, 5004, 909_000, vp8(703, 43, keyframe=False), 0.11), "high no more"
    assert send(0, 103, 19_000, vp8(23, 6, keyframe=False), 0.15)

    seqs = [seq for seq, _, _ in out]
    assert seqs == list(range(5000, 5000 + len(out))), "no gap, no jump back"
    stamps = [ts for _, ts, _ in out]
    assert stamps[4] - stamps[3] >= VIDEO_RATE // 30, "at least a frame on"
    assert stamps[4] - stamps[3] < VIDEO_RATE // 5, "and no more than the time in between"
    assert stamps[5] - stamps[4] == 3000, "then the low layer's own spacing"
    infos = [vp8_info(payload) for _, _, payload in out]
    assert [i.picture_id for i in infos if i] == [700, 700, 701, 702, 703, 704]
    assert [i.tl0 for i in infos if i] == [40, 40, 41, 42, 43, 44], "TL0PICIDX continues"
    assert [i.keyframe_start for i in infos if i][4], "the new layer starts at its keyframe"


def test_a_switch_waiting_for_its_keyframe_asks_again() -> None:
    asked: list[int] = []
    switch = LayerSwitch(StreamRewriter("video"), asked.append)
    switch.want(0, 0.0)
    assert not switch.admit(0, vp8(1, 1, keyframe=False), None, 0.1)
    assert not switch.admit(0, vp8(2, 1, keyframe=False), None, 0.35)
    assert asked == [0, 0]
    assert switch.keyframe_layer() == 0
