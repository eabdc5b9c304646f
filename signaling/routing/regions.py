"""Which regions neighbour which: the graph that cross-region pooling widens along.

A task is first offered in its own region, then to its neighbours, then everywhere
(``RoutingConfig.stage``). ``distance`` says how far apart two regions are in those terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from signaling.routing.model import RegionCode

SAME, NEIGHBOUR, ELSEWHERE = 0, 1, 2


@dataclass(frozen=True)
class RegionGraph:
    """An undirected neighbour relation; regions absent from it have no neighbours."""

    neighbours: Mapping[RegionCode, frozenset[RegionCode]]

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]]) -> RegionGraph:
        table: dict[RegionCode, set[RegionCode]] = {}
        for a, b in edges:
            if a == b:
                raise ValueError(f"region {a} cannot neighbour itself")
            table.setdefault(RegionCode(a), set()).add(RegionCode(b))
            table.setdefault(RegionCode(b), set()).add(RegionCode(a))
        return cls(MappingProxyType({r: frozenset(n) for r, n in table.items()}))

    def distance(self, a: RegionCode, b: RegionCode) -> int:
        """SAME (0), NEIGHBOUR (1) or ELSEWHERE (2): the widening stage that reaches ``b`` from ``a``."""
        if a == b:
            return SAME
        return NEIGHBOUR if b in self.neighbours.get(a, frozenset()) else ELSEWHERE

    def regions(self) -> frozenset[RegionCode]:
        return frozenset(self.neighbours)


def _clique(codes: Iterable[str]) -> list[tuple[str, str]]:
    items = list(codes)
    return [(a, b) for i, a in enumerate(items) for b in items[i + 1:]]


# The routing tests' and benchmarks' example graph (a deployment's graph is built from its
# catalogue's neighbours, server/catalogue): a prefecture (Ganzhou, Jiangxi) whose districts and
# county-level city neighbour one another; two counties across provincial borders border it:
# Changting (Longyan, Fujian) next to Ruijin, Nanxiong (Shaoguan, Guangdong) next to Nankang.
GANZHOU = RegionGraph.from_edges([
    *_clique(["gz-zhanggong", "gz-nankang", "gz-ganxian", "gz-ruijin"]),
    ("ly-changting", "gz-ruijin"),
    ("sg-nanxiong", "gz-nankang"),
])
