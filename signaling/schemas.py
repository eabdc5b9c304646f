"""Validated socket.io payloads (edge models: unknown fields are refused)."""

from __future__ import annotations

from pydantic import Field

from server.ratings.rules import Reason
from server.schemas import Edge
from signaling.hotline.presence import Availability

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class Empty(Edge):
    pass


class RateBody(Edge):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)
    # The reasons people give (server/ratings/rules.py) and whether it is a complaint.
    reasons: list[Reason] = Field(default_factory=list, max_length=5)
    complaint: bool = False


class AvailabilityBody(Edge):
    status: Availability


class CaseRef(Edge):
    case_id: str = ID


class NotesBody(CaseRef):
    notes: str = Field(max_length=10_000)


class EndBody(CaseRef):
    outcome: str = Field(min_length=1, max_length=32)


class TransferBody(CaseRef):
    category: str | None = Field(default=None, max_length=32)
    # A database integer id: 18 digits at most (a longer one overflows the column type).
    agent_id: str | None = Field(default=None, max_length=18, pattern=r"^[0-9]+$")
    note: str = Field(min_length=1, max_length=500)


class RoomRef(Edge):
    room_id: str = ID


class ChatBody(RoomRef):
    text: str = Field(min_length=1, max_length=2000)


class SdpBody(RoomRef):
    sdp: str = Field(min_length=1, max_length=64 * 1024)


class Candidate(Edge):
    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


class CandidateBody(RoomRef):
    candidate: Candidate
