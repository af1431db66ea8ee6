"""How sure an address answer is: match level, house found or not, streets that cross precincts.

The tiny city (tests/conftest.py) with one street renamed to an OpenStreetMap ``;`` list:
"проспект Абая" runs along row 0 through both precincts (P-01 west of column 1.5, P-02 east),
"улица Жибек жолы" is column 0 (P-01 only), "улица Назарбаева" column 3 (P-02 only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geo_service.bundle import load_bundle
from geo_service.ingest.build import BuildOptions, build_city
from geo_service.lookup.geocode import display_name
from geo_service.lookup.service import Lookup
from tests.conftest import TWO_PRECINCTS, tiny_city_xml


@pytest.fixture()
def service(tmp_path: Path, write_precincts: Callable[..., Path], write_roster: Callable[..., Path]) -> Lookup:
    osm = tmp_path / "semicolon.osm"
    osm.write_text(tiny_city_xml().replace('v="улица Назарбаева"', 'v="улица Назарбаева;ул.Назарбаева"'),
                   encoding="utf-8")
    out = tmp_path / "bundle"
    build_city(BuildOptions(osm=osm, out=out, precincts=write_precincts(TWO_PRECINCTS),
                            roster=write_roster(), city="tiny"))
    return Lookup(load_bundle(out))


def test_display_name_takes_one_value_of_a_list() -> None:
    assert display_name("ул. Джандосова;ул.Джандосова") == "ул. Джандосова"
    assert display_name(" ;ул.  Абая") == "ул. Абая"
    assert display_name("пр. Абая") == "пр. Абая"
    assert display_name("Tom &amp; Jerry") == "Tom &amp; Jerry"  # a character reference is text


def test_known_house_is_a_sure_house_match(service: Lookup) -> None:
    answer = service.by_address("Толе би 29А", travel=False)
    top = answer["candidates"][0]
    assert (top["match"], top["house_asked"], top["house_found"], top["precinct_determined"]) == (
        "house", "29А", True, True)
    assert top["note"] is None and top["street_precincts"] is None
    assert (answer["match"], answer["house_found"], answer["ambiguous"], answer["precinct_determined"]) == (
        "house", True, False, True)


def test_unknown_house_on_a_street_in_one_precinct_says_so(service: Lookup) -> None:
    answer = service.by_address("Жибек жолы 999", travel=False)
    top = answer["candidates"][0]
    assert top["match"] == "street" and top["housenumber"] is None
    assert top["house_asked"] == "999" and top["house_found"] is False
    assert top["street_length_m"] > 500  # 3 blocks of about 200 m
    assert [p["id"] for p in top["street_precincts"]] == ["P-01"]
    assert top["precinct_determined"] is True and top["precinct"]["id"] == "P-01"
    assert top["note"].startswith("house 999 not found on улица Жибек жолы; the point is the street's middle")
    # One precinct: the inspector is known, but the answer does not look like a house match.
    assert (answer["match"], answer["house_found"], answer["ambiguous"]) == ("street", False, False)
    assert answer["note"] == top["note"]


def test_unknown_house_on_a_street_across_precincts_is_ambiguous(service: Lookup) -> None:
    answer = service.by_address("проспект Абая 999", travel=False)
    top = answer["candidates"][0]
    assert top["match"] == "street" and top["house_found"] is False
    assert [p["id"] for p in top["street_precincts"]] == ["P-01", "P-02"]
    assert top["precinct_determined"] is False
    assert "crosses 2 precincts (P-01, P-02)" in top["note"] and "choose the point on the map" in top["note"]
    assert answer["ambiguous"] is True and answer["precinct_determined"] is False
    assert "travel_to_post" not in top


def test_street_without_house_across_precincts_is_ambiguous(service: Lookup) -> None:
    answer = service.by_address("Абай даңғылы", travel=False)
    top = answer["candidates"][0]
    assert top["match"] == "street" and top["house_asked"] is None and top["house_found"] is None
    assert top["note"].startswith("no house number given; the point is the middle of проспект Абая")
    assert answer["ambiguous"] is True and answer["house_found"] is None


def test_semicolon_list_name_is_shown_clean(service: Lookup) -> None:
    answer = service.by_address("Назарбаева 999", travel=False)
    top = answer["candidates"][0]
    assert top["street"] == "улица Назарбаева"
    assert "ул.Назарбаева" not in top["note"] and top["note"].startswith("house 999 not found on улица Назарбаева;")
    assert [p["id"] for p in top["street_precincts"]] == ["P-02"]  # the raw name still finds its edges


def test_another_number_on_the_street_is_not_the_house_asked(service: Lookup) -> None:
    """ "Толе би 29" is unknown, "29А" is known: shown as a house, but not as the house asked."""
    top = service.by_address("Толе би 29", travel=False)["candidates"][0]
    assert (top["match"], top["housenumber"], top["house_found"]) == ("house", "29А", False)
    assert top["note"] == "house 29 not found on Толе би; the point is house 29А"


def test_public_api_answers_the_fields(client) -> None:
    """GET /api/v1/lookup?address= carries the answer-level and candidate-level fields."""
    body = client.get("/api/v1/lookup?address=проспект Абая 999").get_json()
    assert body["ambiguous"] is True and body["match"] == "street" and body["house_found"] is False
    assert body["candidates"][0]["street_precincts"][0]["id"] == "P-01"
