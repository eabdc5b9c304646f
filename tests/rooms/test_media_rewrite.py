"""The per-subscriber rewriting of forwarded RTP (rooms.media.rewrite): pure, no network."""

from __future__ import annotations

from rooms.media.rewrite import StreamRewriter, vp8_info, with_picture_id

VIDEO_RATE = 90000


def vp8(picture_id: int, *, keyframe: bool, start: bool = True) -> bytes:
    """A VP8 RTP payload: descriptor with a 15-bit picture ID, then a frame's first bytes."""
    first = 0x90 if start else 0x80  # X, and S for the start of a frame
    header = bytes([first, 0x80, 0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF])
    frame = (b"\x10\x02\x00\x9d\x01\x2a" if keyframe else b"\x11\x02\x00") + b"data"
    return header + frame


def test_vp8_descriptor_keyframes_and_picture_ids() -> None:
    key = vp8_info(vp8(300, keyframe=True))
    assert key is not None and key.keyframe_start and key.picture_id == 300
    assert key.picture_id_bits == 15 and key.picture_id_at == 2
    delta = vp8_info(vp8(301, keyframe=False))
    assert delta is not None and not delta.keyframe_start
    middle = vp8_info(vp8(300, keyframe=True, start=False))
    assert middle is not None and not middle.keyframe_start, "only a frame's first packet"
    short = vp8_info(bytes([0x10, 0x10]))  # no extension, 7 bits of nothing: a keyframe start
    assert short is not None and short.keyframe_start and short.picture_id is None
    assert vp8_info(b"") is None and vp8_info(b"\x90\x80") is None  # truncated
    renumbered = with_picture_id(vp8(300, keyframe=True), key, 0x1234)
    again = vp8_info(renumbered)
    assert again is not None and again.picture_id == 0x1234
    assert renumbered[4:] == vp8(300, keyframe=True)[4:], "nothing else moves"


def test_video_starts_at_a_keyframe_and_a_new_source_continues_the_numbering() -> None:
    out = StreamRewriter("video")
    out.switch("alice")
    assert out.awaiting_keyframe
    assert out.rewrite(100, 9000, vp8(50, keyframe=False), VIDEO_RATE, 0.0) is None
    first = out.rewrite(101, 12000, vp8(51, keyframe=True), VIDEO_RATE, 0.03)
    assert first == (101, 12000, vp8(51, keyframe=True)), "the first source goes unchanged"
    assert not out.awaiting_keyframe
    assert out.rewrite(100, 9000, vp8(50, keyframe=False), VIDEO_RATE, 0.04) is None, (
        "a packet from before the first forwarded keyframe stays behind")
    second = out.rewrite(102, 15000, vp8(52, keyframe=False), VIDEO_RATE, 0.06)
    assert second is not None and second[:2] == (102, 15000)

    out.switch("bob")  # bob's numbers are nothing like alice's
    assert out.rewrite(40000, 7_000_000, vp8(9000, keyframe=False), VIDEO_RATE, 1.0) is None
    switched = out.rewrite(40001, 7_003_000, vp8(9001, keyframe=True), VIDEO_RATE, 2.06)
    assert switched is not None
    seq, ts, payload = switched
    assert seq == 103, "sequence numbers continue with no gap and no jump back"
    assert ts == 15000 + 2 * VIDEO_RATE, "timestamps advance by the wall-clock time between"
    info = vp8_info(payload)
    assert info is not None and info.picture_id == 53, "picture IDs continue too"
    after = out.rewrite(40002, 7_006_000, vp8(9002, keyframe=False), VIDEO_RATE, 2.09)
    assert after is not None and after[:2] == (104, ts + 3000)
    assert out.output_timestamp(7_003_000) == ts


def test_a_quick_switch_advances_at_least_one_frame_and_audio_is_not_gated() -> None:
    out = StreamRewriter("audio")
    out.switch("alice")
    assert out.rewrite(7, 960, b"opus", 48000, 0.0) == (7, 960, b"opus")
    out.switch("bob")
    nxt = out.rewrite(5000, 123456, b"opus", 48000, 0.0)
    assert nxt == (8, 960 + 960, b"opus")


def test_sequence_numbers_keep_flowing_across_the_wrap() -> None:
    out = StreamRewriter("audio")
    out.switch("alice")
    seq = 60000
    for i in range(20000):  # past 65535 and well beyond half the number space
        result = out.rewrite(seq, i * 960, b"o", 48000, i * 0.02)
        assert result is not None, f"packet {i} (seq {seq}) was dropped"
        assert result[0] == seq
        seq = (seq + 1) & 0xFFFF
    assert out.rewrite((seq - 30000) & 0xFFFF, 0, b"o", 48000, 500.0) is None, (
        "a packet far older than the stream is not forwarded")
