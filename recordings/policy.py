"""Which sessions are recorded, and the notice each participant consents to (pure data).

Recording is the default for consultations and mediations (the record is evidence). Where a
participant refuses: a consultation goes on unrecorded; a mediation, whose online procedure
the parties chose together with its record, cannot go on without it and its case goes back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordingPolicy:
    record: bool
    required: bool  # a refusal sends the case back to the queue instead of going on unrecorded


POLICIES: dict[str, RecordingPolicy] = {
    "consultation": RecordingPolicy(record=True, required=False),
    "mediation": RecordingPolicy(record=True, required=True),
    "legal_aid": RecordingPolicy(record=True, required=False),
    "notarization": RecordingPolicy(record=True, required=False),
}
NOT_RECORDED = RecordingPolicy(record=False, required=False)


@dataclass(frozen=True)
class Notice:
    version: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"version": self.version, "zh": self.zh, "en": self.en}

    def text(self) -> str:
        """What the ledger stores as the text shown (both languages, as displayed)."""
        return f"{self.zh}\n{self.en}"


NOTICES: dict[str, Notice] = {
    "2026-11-v1": Notice(
        "2026-11-v1",
        "为保障服务质量和双方权益，本次服务将在服务器上全程录音录像，作为服务记录和证据依法保存，"
        "保存期限届满后删除。未经您同意不会开始录制。您可以选择不同意。",
        "To protect the quality of service and both sides' rights, this session is recorded on "
        "the server, audio and video, and kept as the service record and as evidence until its "
        "retention period ends. Nothing is recorded before you agree. You may refuse.",
    ),
    # Spoken to phone callers (signaling/telephony/prompt_texts.py "recording_notice", a test
    # keeps them the same): the ledger stores what the caller heard.
    "2026-12-phone-v1": Notice(
        "2026-12-phone-v1",
        "为保证服务质量，通话将全程录音。同意录音请按1，不同意请按2。",
        "To ensure the quality of service, this call is recorded. Press 1 to agree to the "
        "recording, 2 to refuse.",
    ),
}
CURRENT_NOTICE = NOTICES["2026-11-v1"]
PHONE_NOTICE = NOTICES["2026-12-phone-v1"]


def policy_for(service_type: str) -> RecordingPolicy:
    return POLICIES.get(service_type, NOT_RECORDED)
