from rooms.media.answer import enable_opus_fec

SDP = "\r\n".join([
    "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 96 0", "a=rtpmap:96 opus/48000/2", "a=rtpmap:0 PCMU/8000",
    "m=video 9 UDP/TLS/RTP/SAVPF 97", "a=rtpmap:97 VP8/90000", "",
])


def test_adds_fec_to_opus_only() -> None:
    out = enable_opus_fec(SDP).split("\r\n")
    assert out[3] == "a=fmtp:96 minptime=10;useinbandfec=1"
    assert not any(line.startswith(("a=fmtp:0", "a=fmtp:97")) for line in out)


def test_extends_an_existing_fmtp_once() -> None:
    sdp = SDP.replace("a=rtpmap:96 opus/48000/2", "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1")
    out = enable_opus_fec(enable_opus_fec(sdp))
    assert "a=fmtp:96 stereo=1;useinbandfec=1" in out
    assert out.count("useinbandfec") == 1
