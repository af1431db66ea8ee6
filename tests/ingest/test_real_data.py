"""The real OpenStreetMap extracts in ../shared/data (skipped when absent)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo_service.bundle import load_bundle
from geo_service.ingest.build import BuildOptions, build_city
from tests.conftest import shared_file

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def almaty_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    osm = shared_file("almaty", "almaty.osm.pbf")
    out = tmp_path_factory.mktemp("almaty") / "bundle"
    build_city(BuildOptions(osm=osm, out=out, city="almaty"))
    return out


def test_almaty_pbf_builds_with_derived_precincts(almaty_bundle: Path) -> None:
    city = load_bundle(almaty_bundle)
    m = city.manifest
    assert m["osm_stats"]["nodes"] == 75288
    assert m["osm_stats"]["highway_ways"] == 4279
    assert m["osm_stats"]["ways_missing_nodes"] > 0  # clipped at the extract edge, handled
    assert m["counts"].get("police", True)
    # 15 of the 40 amenity=police objects are precinct posts (tests/ingest/test_police_posts.py).
    assert len(city.posts) == 15
    assert m["precinct_source"] == "derived"
    assert 10 <= len(city.precincts) <= 15
    assert city.walk.n_nodes > 20000 and city.drive.n_nodes > 20000
    # Every address falls in exactly one precinct (borders aside).
    geoms = city.precincts.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    hits = tree.query(shapely.points(city.addresses.lon.to_numpy(), city.addresses.lat.to_numpy()),
                      predicate="intersects")
    assert len(np.unique(hits[0])) == len(city.addresses)
    # Named streets with their name forms (this 2012 extract has few name:* tags).
    assert len(city.streets) > 400 and (city.streets.name != "").all()


def test_almaty_route_is_sane(almaty_bundle: Path) -> None:
    city = load_bundle(almaty_bundle)
    # From Abay/Dostyk to Abay/Baitursynov: about 2-3 km along Abay avenue.
    r = city.walk.route(43.2397, 76.9573, 43.2404, 76.9253)
    assert r is not None
    assert 2500 < r.length_m < 4000
    assert 1800 < r.time_s < 3200  # about 4.8 km/h
    car = city.drive.route(43.2397, 76.9573, 43.2404, 76.9253)
    assert car is not None and car.time_s < r.time_s / 5


def test_almaty_xml_with_clipped_ways_builds(tmp_path: Path) -> None:
    """The raw XML (osmnx fails on it with "Some edges missing nodes") builds here."""
    import osmium

    pbf = shared_file("almaty", "almaty.osm.pbf")
    raw = tmp_path / "almaty.osm"
    with osmium.SimpleWriter(str(raw)) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
    m = build_city(BuildOptions(osm=raw, out=tmp_path / "b", city="almaty"))
    assert m["osm_stats"]["ways_missing_nodes"] > 0
    assert m["counts"]["walk_nodes"] > 20000


def test_almaty_clean_bz2_builds(tmp_path: Path) -> None:
    m = build_city(BuildOptions(osm=shared_file("almaty", "almaty.clean.osm.bz2"), out=tmp_path / "b"))
    assert m["osm_stats"]["ways_missing_nodes"] == 0
    assert m["counts"]["addresses"] > 700


def test_aguascalientes_pbf_and_bz2_agree(tmp_path: Path) -> None:
    a = build_city(BuildOptions(osm=shared_file("aguascalientes", "aguascalientes.osm.pbf"), out=tmp_path / "a",
                                posts=_one_post(tmp_path)))
    b = build_city(BuildOptions(osm=shared_file("aguascalientes", "aguascalientes.osm.bz2"), out=tmp_path / "b",
                                posts=_one_post(tmp_path)))
    assert a["counts"] == b["counts"]
    assert a["counts"]["addresses"] >= 480  # 494 address nodes, a few exact duplicates


def _one_post(tmp_path: Path) -> Path:
    path = tmp_path / "posts.csv"
    path.write_text("post_id,name,lat,lon\nA,Centro,21.8818,-102.2960\nB,Norte,21.8880,-102.2930\n")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_readyz(almaty_bundle: Path, tmp_path: Path) -> None:
    """`geo-service serve` (gunicorn, preloaded bundle) answers /readyz with the counts."""
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(almaty_bundle),
                             "--port", str(port), "--workers", "2"], stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        body = None
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, (tmp_path / "serve.log").read_text()
        assert body["city"] == "almaty" and body["counts"]["posts"] == 15
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
