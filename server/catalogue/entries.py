"""Fixed code lists: service types, dispute categories, modes, languages, outcomes (the regions
are the deployment's, in the catalogue file).

Codes are stable identifiers stored in the database; ``zh`` and ``en`` are display names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Entry:
    code: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


class Mode(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


SERVICE_TYPES = (
    Entry("consultation", "法律咨询", "Legal consultation"),
    Entry("mediation", "人民调解", "People's mediation"),
    Entry("legal_aid", "法律援助", "Legal aid"),
    Entry("notarization", "公证咨询", "Notarisation enquiry"),
)

CATEGORIES = (
    Entry("marriage_family", "婚姻家庭", "Marriage and family"),
    Entry("neighbour", "邻里纠纷", "Neighbour dispute"),
    Entry("labour", "劳动争议", "Labour dispute"),
    Entry("contract", "合同纠纷", "Contract dispute"),
    Entry("traffic", "交通事故", "Traffic accident"),
    Entry("consumer", "消费维权", "Consumer rights"),
    Entry("property_land", "房屋土地", "Housing and land"),
    Entry("other", "其他", "Other"),
)

MODES = (
    Entry(Mode.VIDEO, "视频", "Video"),
    Entry(Mode.AUDIO, "语音", "Audio"),
    Entry(Mode.TEXT, "文字", "Text"),
)

# Languages and dialects a lawyer may serve in (dialect seats, 方言坐席).
LANGUAGES = (
    Entry("zh", "普通话", "Mandarin"),
    Entry("gan", "赣语", "Gan"),
    Entry("hak", "客家话", "Hakka"),
    Entry("yue", "粤语", "Cantonese"),
    Entry("min", "闽语", "Min"),
)

OUTCOMES = (
    Entry("answered", "已解答", "Question answered"),
    Entry("referred_mediation", "转人民调解", "Referred to mediation"),
    Entry("referred_legal_aid", "转法律援助", "Referred to legal aid"),
    Entry("referred_other", "转其他部门", "Referred elsewhere"),
    Entry("follow_up", "需后续跟进", "Needs follow-up"),
    Entry("no_show", "当事人未接通", "Citizen did not connect"),
)


def codes(entries: tuple[Entry, ...]) -> frozenset[str]:
    return frozenset(e.code for e in entries)


def as_dict(regions: tuple[Entry, ...]) -> dict[str, list[dict[str, str]]]:
    """The code lists the intake form offers; ``regions`` come from the deployment's catalogue."""
    return {
        "service_types": [e.to_dict() for e in SERVICE_TYPES],
        "categories": [e.to_dict() for e in CATEGORIES],
        "modes": [e.to_dict() for e in MODES],
        "regions": [e.to_dict() for e in regions],
        "outcomes": [e.to_dict() for e in OUTCOMES],
        "languages": [e.to_dict() for e in LANGUAGES],
    }
