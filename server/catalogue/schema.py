"""The shape of a catalogue file, checked field by field (pydantic, unknown keys refused).

A deployment edits the TOML file; this module says what each table may hold. Cross-references
(an item's handler kind, an institution's region, an advisor's villages) are checked in
``model.build`` once every table is read.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]
Name = Annotated[str, Field(min_length=1, max_length=80)]


class HandlerKind(StrEnum):
    """Who handles an item: a kind of institution."""

    LAWYER_POOL = "lawyer_pool"
    MEDIATION_COMMITTEE = "mediation_committee"
    LEGAL_AID_CENTRE = "legal_aid_centre"
    NOTARY_OFFICE = "notary_office"
    APPRAISAL_INSTITUTION = "appraisal_institution"
    ARBITRATION_COMMISSION = "arbitration_commission"
    JUSTICE_BUREAU = "justice_bureau"


class HandlingMode(StrEnum):
    LIVE_QUEUE = "live_queue"  # the hotline queue: a lawyer takes the citizen now
    APPLICATION = "application"  # a work queue: the institution reviews within a time limit


class Counting(StrEnum):
    CALENDAR = "calendar"  # 日: natural days
    WORKING = "working"  # 工作日: the State Council's calendar, make-up working days included


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaterialSpec(_Strict):
    code: Code
    zh: Name
    en: Name
    required: bool = True
    # 容缺受理: the application is accepted without it and it is supplied by a deadline.
    later: bool = False
    # 告知承诺制: a signed commitment may stand in for the certificate.
    commitment: bool = False


class LimitSpec(_Strict):
    """A time limit (限时办结): ``days`` counted from the event ``starts_on``."""

    code: Code
    zh: Name
    en: Name
    days: int = Field(ge=1, le=365)
    counting: Counting
    starts_on: Code
    stops_on: list[Code] = Field(min_length=1)
    # Events that suspend it (the clock starts afresh when ``starts_on`` happens again).
    pauses_on: list[Code] = Field(default_factory=list)
    warn_days: int = Field(default=1, ge=0, le=30)
    basis: str = Field(default="", max_length=120)  # the article that sets the limit


class ItemSpec(_Strict):
    code: Code
    zh: Name
    en: Name
    handler: HandlerKind
    mode: HandlingMode
    flow: Code  # the state machine (server/registry/flows.py) that runs this item
    steps_zh: list[Name] = Field(default_factory=list)
    steps_en: list[Name] = Field(default_factory=list)
    cross_region: bool = False  # may be handled by another region's institution (统筹调配)
    materials: list[MaterialSpec] = Field(default_factory=list)
    limits: list[LimitSpec] = Field(default_factory=list)


class RegionSpec(_Strict):
    code: Code
    zh: Name
    en: Name
    prefecture: Name
    province: Name
    neighbours: list[Code] = Field(default_factory=list)


class InstitutionSpec(_Strict):
    code: Code
    zh: Name
    en: Name
    kind: HandlerKind
    region: Code
    # Regions it serves; empty means its own region only.
    territory: list[Code] = Field(default_factory=list)
    # Dispute categories it takes (committees); empty means every category.
    categories: list[Code] = Field(default_factory=list)
    # The case number's prefix, e.g. 柯调 gives 柯调〔2026〕12号.
    number_prefix: Name


class VillageSpec(_Strict):
    code: Code
    zh: Name
    region: Code


class AdvisorSpec(_Strict):
    """A village legal advisor (村社区法律顾问): the preferred agent for these villages."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    villages: list[Code] = Field(min_length=1)


class CalendarDay(_Strict):
    day: date
    workday: bool
    name: Name


class CatalogueFile(_Strict):
    version: int = Field(ge=1)
    items: list[ItemSpec] = Field(min_length=1)
    regions: list[RegionSpec] = Field(min_length=1)
    institutions: list[InstitutionSpec] = Field(default_factory=list)
    villages: list[VillageSpec] = Field(default_factory=list)
    advisors: list[AdvisorSpec] = Field(default_factory=list)
    # Days the holiday library does not know yet (a new year's 放假安排), or corrections to it.
    calendar: list[CalendarDay] = Field(default_factory=list)
