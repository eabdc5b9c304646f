"""Readable case numbers (案号) of mediation cases: 柯调〔2026〕12号 is the committee's
abbreviation (catalogue data, ``number_prefix``), the year in China time and the committee's
running number for that year.

Numbers come from ``case_number_counters`` (the registry's table: one sequence per prefix and
year, so a committee's applications and its mediation cases never share a number). The counter
moves with one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, atomic on both SQLite
and PostgreSQL: two cases created at once get two numbers, and a number once given is never
given again (a rolled-back case leaves a gap, never a duplicate: the unique index on
``mediation_cases.case_number`` is the last guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalogue.model import Catalogue
from server.catalogue.schema import HandlerKind

CHINA = timezone(timedelta(hours=8))
_NEXT = text(
    "INSERT INTO case_number_counters (prefix, year, last) VALUES (:prefix, :year, 1) "
    "ON CONFLICT (prefix, year) DO UPDATE SET last = case_number_counters.last + 1 "
    "RETURNING last")


@dataclass(frozen=True)
class CommitteeRef:
    code: str
    name: str
    prefix: str


def committee_for(catalogue: Catalogue, region: str | None, default_region: str
                  ) -> CommitteeRef | None:
    """The people's mediation committee serving ``region`` (else the default region's)."""
    for where in filter(None, (region, default_region)):
        found = catalogue.competent(HandlerKind.MEDIATION_COMMITTEE, where)
        if found is not None:
            return CommitteeRef(found.code, found.zh, found.number_prefix)
    return None


def case_year(at: datetime) -> int:
    """The year a case is numbered in: its creation date in China."""
    return at.astimezone(CHINA).year


def format_number(prefix: str, year: int, n: int) -> str:
    return f"{prefix}〔{year}〕{n}号"


async def next_number(session: AsyncSession, prefix: str, year: int) -> int:
    """Take the next number of (``prefix``, ``year``) inside ``session``'s transaction."""
    return int((await session.execute(_NEXT, {"prefix": prefix, "year": year})).scalar_one())
