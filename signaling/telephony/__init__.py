"""The phone line (12348 over a SIP trunk): the SIP user agent (``sipline``, over aiosipua), RTP
with G.711 and RFC 4733 key presses (``rtp``, ``dtmf``), the menu (``ivr``, pure), the prompts,
and the desk that puts calls into the hotline's queue and rooms (``desk``). docs/telephony.md."""
