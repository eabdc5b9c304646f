"""The catalogue file: the shipped one loads; a mistake is reported with its line."""

from __future__ import annotations

import pytest

from server.catalogue import CatalogueError, default_catalogue, load_catalogue
from server.catalogue.schema import HandlerKind
from server.registry.clocks import unknown_events
from server.registry.flows import FLOWS

BASE = """version = 1

[[items]]
code = "legal_aid"
zh = "法律援助"
en = "Legal aid"
handler = "legal_aid_centre"
mode = "application"
flow = "legal_aid"

[[regions]]
code = "a"
zh = "甲县"
en = "A"
prefecture = "甲市"
province = "甲省"

[[institutions]]
code = "a-aid"
zh = "甲县法律援助中心"
en = "A Legal Aid Centre"
kind = "legal_aid_centre"
region = "a"
number_prefix = "甲援"
"""


def test_the_shipped_catalogue_is_quzhou_and_its_border_counties() -> None:
    catalogue = default_catalogue()
    assert {"qz-kecheng", "qz-qujiang", "qz-jiangshan", "qz-changshan", "qz-kaihua",
            "qz-longyou"} <= set(catalogue.regions)
    assert {r.prefecture for r in catalogue.regions.values()} == {"衢州市", "上饶市", "南平市", "黄山市"}
    # 浦城 (Fujian) borders 江山; routing widens along that edge.
    assert ("np-pucheng", "qz-jiangshan") in catalogue.region_edges()
    for kind in HandlerKind:
        assert catalogue.of_kind(kind) or kind is HandlerKind.LAWYER_POOL, kind
    # Every limit's events are recorded by its flow, so every clock can start and stop.
    for item in catalogue.items.values():
        if item.flow in FLOWS:
            assert unknown_events(item, FLOWS[item.flow], ["received"]) == [], item.code


def test_a_competent_centre_is_found_by_region() -> None:
    catalogue = default_catalogue()
    centre = catalogue.competent(HandlerKind.LEGAL_AID_CENTRE, "sr-yushan")
    assert centre is not None and centre.zh == "上饶市玉山县法律援助中心"


def test_an_unknown_handler_names_its_line() -> None:
    text = BASE.replace('handler = "legal_aid_centre"', 'handler = "court"')
    with pytest.raises(CatalogueError) as err:
        load_catalogue(text, "mine.toml")
    assert str(err.value).startswith("mine.toml:7: items[0].handler")


def test_a_reference_to_an_unknown_region_names_its_line() -> None:
    text = BASE.replace('region = "a"\nnumber_prefix', 'region = "b"\nnumber_prefix')
    with pytest.raises(CatalogueError) as err:
        load_catalogue(text, "mine.toml")
    assert "mine.toml:23: institutions[0].region: unknown region 'b'" in str(err.value)


def test_a_duplicate_code_and_a_syntax_error_are_refused() -> None:
    with pytest.raises(CatalogueError, match="duplicate code 'a'"):
        load_catalogue(BASE + BASE[BASE.index("[[regions]]"):BASE.index("[[institutions]]")])
    with pytest.raises(CatalogueError, match="line"):
        load_catalogue("version = = 1")


def test_the_calendar_override_reaches_the_clocks() -> None:
    catalogue = load_catalogue(BASE + '\n[[calendar]]\nday = 2027-01-04\nworkday = false\nname = "x"\n')
    from datetime import date
    assert not catalogue.calendar.is_workday(date(2027, 1, 4))


def test_applications_widen_across_the_border_only_where_the_item_allows() -> None:
    catalogue = default_catalogue()
    # 玉山 (上饶) has no mediation committee: the nearest across the border, one hop away.
    near = catalogue.competent_near(HandlerKind.MEDIATION_COMMITTEE, "sr-yushan", "neighbour",
                                    widen=True)
    assert near is not None
    committee, hops = near
    assert hops == 1 and committee.region in catalogue.regions["sr-yushan"].neighbours
    # 休宁 (黄山) borders only 开化: its committee.
    assert catalogue.competent_near(HandlerKind.MEDIATION_COMMITTEE, "hs-xiuning", None,
                                    widen=True) == (catalogue.institutions["qz-kaihua-committee"], 1)
    # A region with its own stays there; without widening there is none.
    assert catalogue.competent_near(HandlerKind.MEDIATION_COMMITTEE, "qz-kecheng", None,
                                    widen=True) == (catalogue.institutions["qz-kecheng-committee"], 0)
    assert catalogue.competent_near(HandlerKind.MEDIATION_COMMITTEE, "sr-yushan", None,
                                    widen=False) is None
