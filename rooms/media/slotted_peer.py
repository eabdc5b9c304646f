"""A participant's peer connection with receiving slots: one remote participant per slot."""

from __future__ import annotations

from aiortc import RTCPeerConnection

from rooms.media.outstream import OutStream
from rooms.media.peer import Peer
from rooms.messages import ParticipantId


class SlottedPeer(Peer):
    """A peer with receiving slots beyond the first: slot 0 is the sendrecv transceiver of each
    kind (``forwarders``), slots 1.. are the offer's further m-lines (sendonly here)."""

    def __init__(self, participant_id: ParticipantId, pc: RTCPeerConnection) -> None:
        super().__init__(participant_id, pc)
        self.extra: dict[str, list[OutStream]] = {}

    def slot_count(self) -> int:
        return max([1 if self.forwarders else 0,
                    *(1 + len(tracks) for tracks in self.extra.values())])

    def slot_tracks(self, slot: int) -> dict[str, OutStream]:
        if slot == 0:
            return dict(self.forwarders)
        return {kind: tracks[slot - 1] for kind, tracks in self.extra.items()
                if len(tracks) >= slot}

    def out_streams(self) -> list[OutStream]:
        return [*super().out_streams(), *(o for outs in self.extra.values() for o in outs)]

    async def close(self) -> None:
        for outs in self.extra.values():
            for out in outs:
                out.stop()
        await super().close()
