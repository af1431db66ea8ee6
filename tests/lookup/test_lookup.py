"""Point and address lookup on the tiny city (core, no HTTP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo_service.bundle import load_bundle
from geo_service.errors import InputError, NotFound
from geo_service.lookup.service import Lookup, OutsidePrecincts, ProbablySwapped
from tests.conftest import DLON, LON0, grid_latlon


@pytest.fixture()
def lookup(built_tiny: Path) -> Lookup:
    return Lookup(load_bundle(built_tiny))


def test_point_inside_each_precinct(lookup: Lookup) -> None:
    a = lookup.by_point(*grid_latlon(1, 0.5))
    assert a["precinct"] == {"id": "P-01", "name": "Участок P-01", "source": "official", "official": True}
    assert [i["name"] for i in a["inspectors"]] == ["Серік Ахметов"]
    assert set(a["inspectors"][0]) == {"id", "name", "rank", "phone", "reception_hours"}
    assert a["post"]["id"] == "POST-P-01" and a["post"]["address"] == "Абая 150"
    assert a["on_border"] is False
    walk, drive = a["travel_to_post"]["walk"], a["travel_to_post"]["drive"]
    assert 0 < walk["minutes"] < 15 and walk["distance_m"] > 0
    assert drive["minutes"] < walk["minutes"]
    b = lookup.by_point(*grid_latlon(1, 2.5))
    assert b["precinct"]["id"] == "P-02" and b["inspectors"][0]["name"] == "Айгүл Сейітова"


def test_border_point_goes_to_the_id_that_sorts_first(lookup: Lookup) -> None:
    lat, lon = grid_latlon(1, 1.5)  # on the street shared by P-01 and P-02
    a = lookup.by_point(lat, lon)
    assert a["precinct"]["id"] == "P-01" and a["on_border"] is True
    found, border = lookup.locate_many(np.array([lat]), np.array([lon]))
    assert lookup.ids[found[0]] == "P-01" and border[0]


def test_point_outside_names_the_nearest_precinct(lookup: Lookup) -> None:
    with pytest.raises(OutsidePrecincts) as exc:
        lookup.by_point(*grid_latlon(1, 5))
    problem = exc.value.to_problem()
    assert problem["status"] == 404
    assert problem["nearest_precinct"]["id"] == "P-02"
    # From column 5 to the border at column 3.6: 1.4 blocks of ~203 m.
    assert problem["distance_m"] == pytest.approx(1.4 * DLON * 111195 * np.cos(np.radians(43.25)), rel=0.02)


def test_swapped_coordinates_are_reported(lookup: Lookup) -> None:
    lat, lon = grid_latlon(1, 1)
    with pytest.raises(ProbablySwapped) as exc:
        lookup.by_point(lon, lat)
    assert exc.value.status == 422
    assert exc.value.to_problem()["suggestion"] == {"lat": lat, "lon": lon}


@pytest.mark.parametrize("lat, lon", [(100, 76.9), (43.2, 181), ("x", 1), (float("nan"), 1), (None, 1)])
def test_bad_coordinates(lookup: Lookup, lat: object, lon: object) -> None:
    with pytest.raises(InputError):
        lookup.by_point(lat, lon)


@pytest.mark.parametrize("text", ["Абая 150", "пр. Абая, 150", "проспект Абая д.150", "Абай даңғылы 150",
                                  "Abay ave 150", "abai dangyly 150"])
def test_address_forms_find_the_same_house(lookup: Lookup, text: str) -> None:
    answer = lookup.by_address(text)
    top = answer["candidates"][0]
    assert top["match"] == "house" and top["housenumber"] == "150"
    assert top["precinct"]["id"] == "P-01"
    assert top["inspectors"][0]["name"] == "Серік Ахметов"
    # The house node and the building outline 50 m apart are one place, one precinct.
    assert answer["ambiguous"] is False
    assert "travel_to_post" in top


def test_unknown_house_falls_back_to_the_street(lookup: Lookup) -> None:
    top = lookup.by_address("Толе би 3")["candidates"][0]
    assert top["match"] == "street" and top["housenumber"] is None
    assert top["street"] == "улица Толе би"


def test_microdistrict_address(lookup: Lookup) -> None:
    top = lookup.by_address("мкр. Самал-2, 58")["candidates"][0]
    assert (top["street"], top["housenumber"], top["match"]) == ("Самал-2", "58", "house")


def test_ambiguous_when_candidates_disagree(lookup: Lookup) -> None:
    results = [{"score": 90.0, "lat": 43.25, "lon": 76.9, "precinct": {"id": "P-01"}},
               {"score": 89.0, "lat": 43.25, "lon": 76.9, "precinct": {"id": "P-02"}}]
    assert Lookup._ambiguous(results) is True
    results[1]["precinct"] = {"id": "P-01"}
    assert Lookup._ambiguous(results) is False
    results[1]["lat"] = 43.26  # 1.1 km away
    assert Lookup._ambiguous(results) is True
    results[1]["score"] = 80.0  # no longer close to the best
    assert Lookup._ambiguous(results) is False


@pytest.mark.parametrize("text", ["", "   ", "x" * 201, None, 42])
def test_bad_address_text(lookup: Lookup, text: object) -> None:
    with pytest.raises(InputError):
        lookup.by_address(text)


def test_unknown_address_is_not_found(lookup: Lookup) -> None:
    with pytest.raises(NotFound):
        lookup.by_address("qqqq zzzz 7")


def test_batch_mixes_results_and_errors(lookup: Lookup) -> None:
    items = [{"id": "a", "lat": grid_latlon(1, 0.5)[0], "lon": grid_latlon(1, 0.5)[1]},
             {"id": "b", "address": "Пушкина 13/1"},
             {"id": "c", "lat": 200, "lon": 0},
             {"id": "d", "lat": grid_latlon(1, 5)[0], "lon": grid_latlon(1, 5)[1]},
             {"id": "e", "address": "Абая 150", "lat": 1, "lon": 2},
             {"id": "f", "lat": grid_latlon(2, 2.5)[0], "lon": grid_latlon(2, 2.5)[1]}]
    out = lookup.batch(items)
    assert [r["id"] for r in out] == ["a", "b", "c", "d", "e", "f"]
    assert out[0]["precinct"]["id"] == "P-01" and "travel_to_post" not in out[0]
    assert out[1]["candidates"][0]["housenumber"] == "13/1"
    assert out[2]["error"]["status"] == 400
    assert out[3]["error"]["status"] == 404 and out[3]["error"]["nearest_precinct"]["id"] == "P-02"
    assert out[4]["error"]["status"] == 400
    assert out[5]["precinct"]["id"] == "P-02"


def test_batch_agrees_with_single_lookups(lookup: Lookup) -> None:
    rng = np.random.default_rng(3)
    lat = grid_latlon(-0.4, 0)[0] + rng.random(300) * (grid_latlon(3.4, 0)[0] - grid_latlon(-0.4, 0)[0])
    lon = LON0 + (-0.4 + rng.random(300) * 3.9) * DLON
    found, _ = lookup.locate_many(lat, lon)
    for k in range(300):
        single = lookup.locate(lat[k], lon[k])
        assert (single.index if single else -1) == found[k]


def test_batch_size_limit(lookup: Lookup) -> None:
    with pytest.raises(InputError, match="at most 10000"):
        lookup.batch([{"lat": 1, "lon": 1}] * 10001)


def test_precincts_geojson_is_rfc7946(lookup: Lookup) -> None:
    fc = lookup.precincts_geojson()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    f = fc["features"][0]
    lon, lat = f["geometry"]["coordinates"][0][0]
    assert 76 < lon < 78 and 43 < lat < 44  # [lon, lat]
    assert set(f["properties"]) == {"id", "name", "source", "official", "inspectors", "post"}
