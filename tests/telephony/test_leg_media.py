"""The bridged call's audio path (signaling/telephony/leg_media.py): G.711 <-> Opus without
aiortc's media tasks. A real SIPp call (this test's socket for its media) is put through to a
lawyer (an aiortc peer connection, as the agent page), recorded: each hears the other's tone,
and every 20 ms of it went through the call's ``LegMedia`` both ways."""

from __future__ import annotations

import asyncio
from typing import Any

import av
from aiortc.codecs.g711 import PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder
from aiortc.jitterbuffer import JitterFrame

from server.config import Settings
from signaling.keys import PHONE_DESK_KEY
from signaling.telephony.leg_media import (
    compress,
    compress_table,
    expand,
    expand_table,
    opus_payload_type,
)
from tests.conftest import Running
from tests.telephony.agents import LAWYER_HZ, Lawyer, take_offer
from tests.telephony.phone_media import open_phone_media, tone_pcm
from tests.telephony.sipp import sipp, until

PHONE_HZ = 440.0


def test_the_g711_tables_match_ffmpegs_codecs() -> None:
    pcm = tone_pcm(PHONE_HZ, 0.02)
    for codec, encoder, decoder in (("PCMU", PcmuEncoder(), PcmuDecoder()),
                                    ("PCMA", PcmaEncoder(), PcmaDecoder())):
        frame = av.AudioFrame(format="s16", layout="mono", samples=160)
        frame.planes[0].update(pcm)
        frame.sample_rate, frame.pts = 8000, 0
        (g711,), _ = encoder.encode(frame)
        assert compress(compress_table(codec), pcm) == g711
        (back,) = decoder.decode(JitterFrame(g711, 0))
        assert isinstance(back, av.AudioFrame)
        assert expand(expand_table(codec), g711) == bytes(back.planes[0])[:320]


def test_the_opus_payload_type_is_read_from_the_answer() -> None:
    sdp = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
           "m=audio 9 UDP/TLS/RTP/SAVPF 109 0\r\nc=IN IP4 0.0.0.0\r\n"
           "a=rtpmap:109 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n")
    assert opus_payload_type(sdp) == 109


async def test_a_bridged_calls_audio_goes_through_leg_media_both_ways(
        settings: Settings, running: Running, connect: Any) -> None:
    assert settings.sip is not None
    await running.add_lawyer("lawyer1", skills={"other": 3}, region="qz-kecheng")
    agent = await connect(await running.login("lawyer1"))
    phone = await open_phone_media()
    lawyer = Lawyer()
    caller = await sipp("uac_call.xml", (settings.sip.host, settings.sip.port), hold_ms=10000,
                        keys={"caller": "13900139001", "rtp_port": str(phone.port)})
    tone: asyncio.Task[None] | None = None
    try:
        await phone.key_menu()  # agree to recording, consultation, Mandarin
        accepted = await take_offer(agent)
        case_id, room_id = accepted["case"]["id"], accepted["room"]["room_id"]
        tone = asyncio.ensure_future(phone.play_tone(PHONE_HZ))
        await lawyer.join(agent, room_id)
        join: Any = running.app[PHONE_DESK_KEY].bridge  # PhoneBridge.join, bound
        bridge = join.__self__
        media = await until(lambda: _media(bridge, case_id), what="the call's LegMedia")

        async def both_hear() -> bool | None:
            return True if (lawyer.tone_share(PHONE_HZ) > 0.5
                            and phone.tone_share(LAWYER_HZ) > 0.5) else None

        await until(both_hear, what="the lawyer to hear 440 Hz and the caller 1 kHz")
        # One Opus packet to the room per 20 ms of the line, and the room's decoded for it.
        sent, heard, frames = media.sent, media.heard, lawyer.frames
        await until(lambda: _grown(media, sent, heard, 50), what="a further second both ways")
        assert lawyer.frames - frames >= 40  # what LegMedia sent is what the lawyer got
    finally:
        if tone is not None:
            tone.cancel()
        caller.stop()
        phone.close()
        await lawyer.close()


async def _media(bridge: Any, case_id: str) -> Any:
    media = bridge.media.get(case_id)
    return media if media is not None and media.sent and media.heard else None


async def _grown(media: Any, sent: int, heard: int, by: int) -> bool | None:
    return True if media.sent >= sent + by and media.heard >= heard + by else None
