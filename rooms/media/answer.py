"""Adjustments to the worker's SDP answer before it reaches the browser (pure).

aiortc's Opus codec carries no format parameters, so its answer never asks the browser for
Opus in-band FEC. The worker forwards Opus packets untouched, so it can honestly declare
``useinbandfec=1``: the browser then adds redundancy once receiver reports show loss, and the
receiving browser's decoder uses it to rebuild lost packets (measured in tests/e2e/test_loss.py).
"""

from __future__ import annotations

import re

_OPUS_RTPMAP = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE)
FEC = "useinbandfec=1"


def enable_opus_fec(sdp: str) -> str:
    lines = sdp.split("\r\n")
    payload_types = {m.group(1) for line in lines if (m := _OPUS_RTPMAP.match(line))}
    out: list[str] = []
    fmtp_seen: set[str] = set()
    for line in lines:
        for pt in payload_types:
            prefix = f"a=fmtp:{pt} "
            if line.startswith(prefix):
                fmtp_seen.add(pt)
                params = line[len(prefix):]
                if FEC not in params.split(";"):
                    line = f"{prefix}{params};{FEC}" if params else f"{prefix}{FEC}"
        out.append(line)
    result: list[str] = []
    for line in out:
        result.append(line)
        match = _OPUS_RTPMAP.match(line)
        if match and match.group(1) not in fmtp_seen:
            result.append(f"a=fmtp:{match.group(1)} minptime=10;{FEC}")
    return "\r\n".join(result)
