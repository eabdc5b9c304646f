"""Judicial confirmation rules: competent courts, the 30-day application window and its
reminders, the court's own time limits, and the grounds for dismissal. Pure.

Sources (DOMAIN.md): 人民调解法 Art 33 (joint application within 30 days of the agreement taking
effect); Civil Procedure Law 2023 Arts 205-206 and the SPC interpretation of 2022 Art 351 (the
court that invited the mediation; otherwise a basic-level court where a party lives, where the
subject matter is, or where the mediation organisation is); SPC rules of 2011 (decide on
acceptance within 3 days, rule within 15 days of acceptance).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

CONFIRMATION_DAYS = 30
REMINDER_DAYS_LEFT = (20, 7, 1)  # reminders when this many days of the window are left
ACCEPT_WITHIN_DAYS = 3
RULE_WITHIN_DAYS = 15


@dataclass(frozen=True)
class Court:
    code: str
    name: str
    region: str | None  # the catalogue region a basic-level court serves
    level: str = "basic"

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "name": self.name, "region": self.region, "level": self.level}


# One basic-level court per region of the catalogue, and the intermediate court (not competent
# for confirming people's mediation agreements, listed so a wrong choice is explained).
COURTS = (
    Court("qz-kecheng-court", "衢州市柯城区人民法院", "qz-kecheng"),
    Court("qz-qujiang-court", "衢州市衢江区人民法院", "qz-qujiang"),
    Court("qz-longyou-court", "龙游县人民法院", "qz-longyou"),
    Court("qz-jiangshan-court", "江山市人民法院", "qz-jiangshan"),
    Court("qz-changshan-court", "常山县人民法院", "qz-changshan"),
    Court("qz-kaihua-court", "开化县人民法院", "qz-kaihua"),
    Court("np-pucheng-court", "浦城县人民法院", "np-pucheng"),
    Court("sr-yushan-court", "玉山县人民法院", "sr-yushan"),
    Court("qz-intermediate-court", "衢州市中级人民法院", None, "intermediate"),
)
_BY_CODE = {c.code: c for c in COURTS}
_BY_REGION = {c.region: c for c in COURTS if c.region is not None and c.level == "basic"}


def court(code: str) -> Court | None:
    return _BY_CODE.get(code)


def basic_court_for(region: str | None) -> Court | None:
    return _BY_REGION.get(region) if region else None


@dataclass(frozen=True)
class Competence:
    court: Court
    grounds: tuple[str, ...]  # invited | party_domicile | subject_matter | committee

    def to_dict(self) -> dict[str, object]:
        return {**self.court.to_dict(), "grounds": list(self.grounds)}


def competent_courts(*, inviting_court: str | None, party_regions: Iterable[str | None],
                     subject_region: str | None, committee_region: str | None
                     ) -> list[Competence]:
    """The courts the parties may choose among. A court that invited the mediation is the only
    one; otherwise every basic-level court of a party's domicile, of the subject matter's
    location and of the committee's location, each once with all its grounds, in that order."""
    if inviting_court:
        invited = court(inviting_court)
        return [Competence(invited, ("invited",))] if invited is not None else []
    grounds: dict[str, list[str]] = {}
    candidates = [(r, "party_domicile") for r in party_regions]
    candidates += [(subject_region, "subject_matter"), (committee_region, "committee")]
    for region, ground in candidates:
        found = basic_court_for(region)
        if found is not None and ground not in grounds.setdefault(found.code, []):
            grounds[found.code].append(ground)
    return [Competence(_BY_CODE[code], tuple(g)) for code, g in grounds.items()]


def application_deadline(effective_at: datetime) -> datetime:
    """The last moment to apply jointly (人民调解法 Art 33: within 30 days of taking effect)."""
    return effective_at + timedelta(days=CONFIRMATION_DAYS)


def may_apply(effective_at: datetime, now: datetime) -> bool:
    return effective_at <= now <= application_deadline(effective_at)


def days_left(effective_at: datetime, now: datetime) -> int:
    """Days left in the window, rounded up (30 at the effective time, 1 during the last day,
    0 or less once it has passed)."""
    remaining = (application_deadline(effective_at) - now) / timedelta(days=1)
    return math.ceil(remaining)


def due_reminders(effective_at: datetime, now: datetime, sent: Collection[int]) -> list[int]:
    """The reminders (by days left) due at ``now`` and not yet sent, most urgent last. None
    after the deadline, none once an application is made (the caller stops asking)."""
    deadline = application_deadline(effective_at)
    if now > deadline:
        return []
    return [d for d in REMINDER_DAYS_LEFT
            if d not in sent and now >= deadline - timedelta(days=d)]


def court_deadlines(submitted_at: datetime, accepted_at: datetime | None
                    ) -> dict[str, datetime]:
    """When the court must decide on acceptance, and rule (15 days from acceptance)."""
    accept_by = submitted_at + timedelta(days=ACCEPT_WITHIN_DAYS)
    rule_from = accepted_at or accept_by
    return {"accept_by": accept_by, "rule_by": rule_from + timedelta(days=RULE_WITHIN_DAYS)}


# Grounds to dismiss an application (DOMAIN.md; SPC interpretation 2022 Art 358).
DISMISSAL_GROUNDS: dict[str, str] = {
    "mandatory_law": "违反法律强制性规定 / breaks mandatory provisions of law",
    "harms_interests": "损害国家利益、社会公共利益、他人合法权益 / harms state, public or "
                       "third-party interests",
    "public_order": "违背公序良俗 / offends public order and good morals",
    "not_voluntary": "违反自愿原则 / was not voluntary",
    "unclear": "内容不明确 / the content is unclear",
}
