"""The address register: reading, checking, merging with OSM, and lookup by its code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_service.bundle import load_bundle
from geo_service.errors import ValidationFailed
from geo_service.ingest.build import BuildOptions, build_city
from geo_service.lookup.service import Lookup, UnknownAddressId
from tests.conftest import TWO_PRECINCTS, grid_latlon

HEADER = "address_id,street,house,building,street_kk,street_ru,lat,lon,district\n"


def _row(code: str, street: str, house: str, i: float, j: float, *, building: str = "", kk: str = "",
         ru: str = "", district: str = "") -> str:
    lat, lon = grid_latlon(i, j)
    return f"{code},{street},{house},{building},{kk},{ru},{lat:.7f},{lon:.7f},{district}\n"


@pytest.fixture()
def register(tmp_path: Path) -> Path:
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "".join([
        # The register has Абая 150 too (OSM has it on a building): the register's row wins.
        _row("0202000000000001", "пр. Абая", "150", 0.52, 0.52, district="Алмалинский"),
        # Houses OSM does not have, with Kazakh/Russian spellings and a corpus.
        _row("0202000000000002", "ул. Толе би", "40", 2.5, 1.5, kk="Төле би көшесі", building="2"),
        _row("0202000000000003", "ул. Пушкина", "77", 1.5, 1.1, kk="Пушкин көшесі", ru="улица Пушкина"),
        _row("0202000000000004", "мкр. Самал-2", "12", 2.6, 0.4),
    ]), encoding="utf-8")
    return path


def _build(tiny_osm: Path, out: Path, write_precincts: Callable[..., Path], **kw: object) -> dict:
    return build_city(BuildOptions(osm=tiny_osm, out=out, precincts=write_precincts(TWO_PRECINCTS), city="tiny",
                                   **kw))  # type: ignore[arg-type]


def test_register_merges_with_osm_and_the_register_wins(tiny_osm: Path, tmp_path: Path, register: Path,
                                                         write_precincts: Callable[..., Path]) -> None:
    plain = _build(tiny_osm, tmp_path / "plain", write_precincts)
    manifest = _build(tiny_osm, tmp_path / "b", write_precincts, addresses=register)
    n_osm = plain["address_sources"]["osm"]
    # OSM has Абая 150 twice (the building and the police node's address): both give way.
    assert manifest["address_sources"] == {"register": 4, "osm": n_osm - 2, "osm_replaced_by_register": 2}
    assert manifest["source"]["addresses"] == "register.csv"
    a = load_bundle(tmp_path / "b").addresses
    abai = a[(a.housenumber == "150") & a.street.str.contains("Абая")]
    assert abai.source.tolist() == ["register"] and abai.address_id.tolist() == ["0202000000000001"]
    assert a.loc[a.address_id == "0202000000000002", "housenumber"].item() == "40 к2"


def test_lookup_by_address_id(tiny_osm: Path, tmp_path: Path, register: Path,
                              write_precincts: Callable[..., Path]) -> None:
    _build(tiny_osm, tmp_path / "b", write_precincts, addresses=register)
    service = Lookup(load_bundle(tmp_path / "b"))
    answer = service.by_address_id(" 0202000000000003 ")
    assert answer["address"]["address_id"] == "0202000000000003"
    assert answer["precinct"]["id"] == service.by_point(*grid_latlon(1.5, 1.1))["precinct"]["id"]
    with pytest.raises(UnknownAddressId):
        service.by_address_id("0202999999999999")
    # The register's Kazakh spelling finds its house, and the text answer carries the code.
    cand = service.by_address("Пушкин көшесі 77")["candidates"][0]
    assert cand["match"] == "house" and cand["address_id"] == "0202000000000003"
    cand = service.by_address("Төле би көшесі 40 корпус 2")["candidates"][0]
    assert cand["address_id"] == "0202000000000002"
    batch = service.batch([{"id": "a", "address_id": "0202000000000004"}, {"id": "b", "address_id": "nope"},
                           {"id": "c", "address_id": "0202000000000004", "lat": 1, "lon": 2}])
    assert batch[0]["address"]["street"] == "мкр. Самал-2"
    assert batch[1]["error"]["status"] == 404 and batch[1]["error"]["field"] == "address_id"
    assert batch[2]["error"]["status"] == 400


def test_api_lookup_by_address_id(tiny_osm: Path, tmp_path: Path, register: Path,
                                  write_precincts: Callable[..., Path]) -> None:
    from geo_service import create_app

    _build(tiny_osm, tmp_path / "b", write_precincts, addresses=register)
    client = create_app({"BUNDLE": str(tmp_path / "b"), "TESTING": True}).test_client()
    r = client.get("/api/v1/lookup?address_id=0202000000000001")
    assert r.status_code == 200 and r.json["address"]["district"] == "Алмалинский"
    assert r.json["precinct"] is not None
    r = client.post("/api/v1/lookup", json={"address_id": "0202000000000002"})
    assert r.status_code == 200 and r.json["address"]["housenumber"] == "40 к2"
    r = client.get("/api/v1/lookup?address_id=0202000000009999")
    assert r.status_code == 404 and r.mimetype == "application/problem+json" and r.json["field"] == "address_id"
    r = client.get("/api/v1/lookup?address_id=%3Cscript%3E")
    assert r.status_code in (400, 422) and "address_id" in json.dumps(r.json)
    r = client.get("/api/v1/lookup?address_id=0202000000000001&lat=1&lon=2")
    assert r.status_code == 400


def test_every_problem_is_one_line(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    bad = tmp_path / "bad.csv"
    lat, lon = grid_latlon(1.5, 1.5)
    bad.write_text(HEADER + "".join([
        _row("A1", "ул. Толе би", "40", 1.5, 1.5),
        _row("A1", "ул. Толе би", "42", 1.6, 1.5),  # duplicate id
        _row("A2", "", "44", 1.5, 1.6),  # empty street
        _row("", "ул. Толе би", "46", 1.5, 1.7),  # empty id
        _row("A3", "ул. Толе би", "корпус", 1.5, 1.8),  # no house number
        f"A4,ул. Толе би,48,,,,{lon:.7f},{lat:.7f},\n",  # swapped
        "A5,ул. Толе би,50,,,,91,200,\n",  # not a coordinate
        "A6,ул. Толе би,52,,,,10.0,10.0,\n",  # outside the extract: a warning, left out
    ]), encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        _build(tiny_osm, tmp_path / "b", write_precincts, addresses=bad)
    lines = err.value.problems
    text = "\n".join(lines)
    assert all("\n" not in line and line.startswith(("error: bad.csv", "warning: bad.csv", "warning: ", "error: "))
               for line in lines)
    assert "address_id A1 appears 2 times" in text
    assert "row 4 (address_id A2): empty street" in text
    assert "row 5: empty address_id" in text
    assert "holds no house number" in text
    assert "lat/lon swapped" in text and "swap the lat and lon columns" in text
    assert "row 8 (address_id A5): lat/lon are not a valid coordinate" in text
    assert "row 9 (address_id A6): point outside the extract: left out" in text
    assert not (tmp_path / "b").exists()


def test_missing_columns_and_outside_rows(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    bad = tmp_path / "cols.csv"
    bad.write_text("code;street;lat;lon\nX;ул. Абая;43.2;76.9\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        _build(tiny_osm, tmp_path / "b", write_precincts, addresses=bad)
    assert any("missing column(s) house" in line for line in err.value.problems)
    wide = tmp_path / "wide.csv"  # a register wider than the city: outside rows are left out, with a warning
    wide.write_text(HEADER + _row("B1", "ул. Толе би", "40", 1.5, 1.5)
                    + "".join(f"B{k + 2},ул. Далеко,{k + 1},,,,10.0,10.0,\n" for k in range(30)), encoding="utf-8")
    manifest = _build(tiny_osm, tmp_path / "w", write_precincts, addresses=wide)
    assert manifest["address_sources"]["register"] == 1
    outside = [p for p in manifest["problems"] if "outside the extract" in p]
    assert len(outside) == 21 and "10 more rows" in outside[-1]  # 20 in full, then one count


def test_point_layers(tiny_osm: Path, tmp_path: Path, write_precincts: Callable[..., Path]) -> None:
    lat, lon = grid_latlon(2.5, 1.5)
    frame = gpd.GeoDataFrame(
        {"RKA": ["G1", "G2"], "Street": ["ул. Толе би", "ул. Пушкина"], "House": ["40", "78"]},
        geometry=[shapely.Point(lon, lat), shapely.box(lon, lat, lon + 0.0002, lat + 0.0002)], crs=4326,
    ).to_crs(32643)  # any CRS the file declares
    for name in ("reg.gpkg", "reg.geojson", "reg.parquet"):
        path = tmp_path / name
        frame.to_parquet(path) if name.endswith(".parquet") else frame.to_file(path)
        _build(tiny_osm, tmp_path / name.replace(".", "_"), write_precincts, addresses=path)
        a = load_bundle(tmp_path / name.replace(".", "_")).addresses
        reg = a[a.source == "register"].set_index("address_id")
        assert sorted(reg.index) == ["G1", "G2"]
        assert reg.loc["G1", "lat"] == pytest.approx(lat, abs=1e-6)
        assert reg.loc["G1", "lon"] == pytest.approx(lon, abs=1e-6)


def test_the_example_register_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "addresses.example.csv"
    frame = pd.read_csv(example, dtype=str, keep_default_na=False)
    assert frame.address_id.is_unique and (frame.street != "").all() and len(frame) >= 50
