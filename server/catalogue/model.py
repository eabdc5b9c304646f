"""The checked catalogue: lookups the rest of the product asks, built once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from server.catalogue.entries import CATEGORIES, Entry
from server.catalogue.schema import (
    CatalogueFile,
    HandlerKind,
    InstitutionSpec,
    ItemSpec,
    LimitSpec,
    RegionSpec,
)
from server.clocks.calendar import WorkingCalendar

# A problem found in the file: where (pydantic-style location) and what.
Problem = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True)
class Catalogue:
    file: CatalogueFile
    items: Mapping[str, ItemSpec]
    regions: Mapping[str, RegionSpec]
    institutions: Mapping[str, InstitutionSpec]
    advisor_of_village: Mapping[str, str]
    calendar: WorkingCalendar

    def item(self, code: str) -> ItemSpec | None:
        return self.items.get(code)

    def limit(self, item: ItemSpec, code: str) -> LimitSpec:
        for limit in item.limits:
            if limit.code == code:
                return limit
        raise KeyError(f"item {item.code} has no limit {code}")

    def region_edges(self) -> list[tuple[str, str]]:
        return sorted({tuple(sorted((r.code, n))) for r in self.regions.values()  # type: ignore[misc]
                       for n in r.neighbours})

    def region_entries(self) -> tuple[Entry, ...]:
        return tuple(Entry(r.code, r.zh, r.en) for r in self.regions.values())

    def of_kind(self, kind: HandlerKind) -> list[InstitutionSpec]:
        return [i for i in self.institutions.values() if i.kind is kind]

    def serves(self, institution: InstitutionSpec, region: str) -> bool:
        return region in (institution.territory or [institution.region])

    def competent(self, kind: HandlerKind, region: str, category: str | None = None
                  ) -> InstitutionSpec | None:
        """The institution of ``kind`` whose territory holds ``region`` (and takes ``category``)."""
        for institution in self.of_kind(kind):
            if not self.serves(institution, region):
                continue
            if category and institution.categories and category not in institution.categories:
                continue
            return institution
        return None

    def competent_near(self, kind: HandlerKind, region: str, category: str | None, widen: bool
                       ) -> tuple[InstitutionSpec, int] | None:
        """The competent institution, and how many region borders away: none when one serves
        ``region``; else, if the item may cross regions (``cross_region``), the nearest along
        the ``neighbours`` graph (breadth first, neighbours in code order), as the hotline
        queue widens."""
        found = self.competent(kind, region, category)
        if found is not None or not widen:
            return None if found is None else (found, 0)
        seen, frontier, hops = {region}, [region], 0
        while frontier:
            hops += 1
            nearer: list[str] = []
            for code in frontier:
                here = self.regions.get(code)
                for neighbour in sorted(here.neighbours if here else []):
                    if neighbour not in seen:
                        seen.add(neighbour)
                        nearer.append(neighbour)
            for code in nearer:
                found = self.competent(kind, code, category)
                if found is not None:
                    return found, hops
            frontier = nearer
        return None

    def public_dict(self) -> dict[str, Any]:
        """What the intake form and the work-queue pages show (no usernames)."""
        return {
            "items": [
                {"code": i.code, "zh": i.zh, "en": i.en, "handler": i.handler.value,
                 "mode": i.mode.value, "steps_zh": i.steps_zh, "steps_en": i.steps_en,
                 "materials": [m.model_dump() for m in i.materials],
                 "limits": [{"code": lim.code, "zh": lim.zh, "en": lim.en, "days": lim.days,
                             "counting": lim.counting.value, "basis": lim.basis}
                            for lim in i.limits]}
                for i in self.items.values()
            ],
            "institutions": [
                {"code": i.code, "zh": i.zh, "en": i.en, "kind": i.kind.value, "region": i.region}
                for i in self.institutions.values()
            ],
            "villages": [v.model_dump() for v in self.file.villages],
        }


def build(file: CatalogueFile) -> tuple[Catalogue | None, list[Problem]]:
    """Check the cross-references of a parsed file; the catalogue when there is no problem."""
    problems: list[Problem] = []
    items = _unique(file.items, "items", problems)
    regions = _unique(file.regions, "regions", problems)
    institutions = _unique(file.institutions, "institutions", problems)
    villages = _unique(file.villages, "villages", problems)
    categories = {c.code for c in CATEGORIES}
    for i, region in enumerate(file.regions):
        for n in region.neighbours:
            if n not in regions or n == region.code:
                problems.append((("regions", i, "neighbours"), f"unknown or own region {n!r}"))
    for i, item in enumerate(file.items):
        if item.mode.value == "application" and not any(
                inst.kind is item.handler for inst in file.institutions):
            problems.append((("items", i, "handler"), f"no institution of kind {item.handler.value}"))
        _unique(item.materials, ("items", i, "materials"), problems)
        _unique(item.limits, ("items", i, "limits"), problems)
    for i, inst in enumerate(file.institutions):
        for r in [inst.region, *inst.territory]:
            if r not in regions:
                problems.append((("institutions", i, "region"), f"unknown region {r!r}"))
        for c in inst.categories:
            if c not in categories:
                problems.append((("institutions", i, "categories"), f"unknown category {c!r}"))
    for i, village in enumerate(file.villages):
        if village.region not in regions:
            problems.append((("villages", i, "region"), f"unknown region {village.region!r}"))
    advisor_of: dict[str, str] = {}
    for i, advisor in enumerate(file.advisors):
        for v in advisor.villages:
            if v not in villages:
                problems.append((("advisors", i, "villages"), f"unknown village {v!r}"))
            advisor_of[v] = advisor.username
    overrides = {d.day: d.workday for d in file.calendar}
    if problems:
        return None, problems
    return Catalogue(
        file=file,
        items=MappingProxyType(items),
        regions=MappingProxyType(regions),
        institutions=MappingProxyType(institutions),
        advisor_of_village=MappingProxyType(advisor_of),
        calendar=WorkingCalendar(MappingProxyType(overrides)),
    ), []


def _unique(rows: list[Any], where: str | tuple[str | int, ...], problems: list[Problem]
            ) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    base = (where,) if isinstance(where, str) else where
    for i, row in enumerate(rows):
        if row.code in seen:
            problems.append(((*base, i, "code"), f"duplicate code {row.code!r}"))
        seen[row.code] = row
    return seen
