"""Which amenity=police objects become precinct posts, and the names unnamed ones get."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from geo_service.bundle import load_bundle
from geo_service.ingest.build import BuildOptions, build_city
from geo_service.ingest.osm import read_osm
from geo_service.ingest.police import not_a_post
from geo_service.ingest.problems import ProblemReport
from geo_service.ingest.roster import posts_from_osm
from tests.conftest import grid_latlon, shared_file

#: (node id, grid position, tags) of the police objects of the fixture.
POLICE = [
    (901, (0.2, 0.2), {"name": "участок полиции №5"}),
    (902, (1.1, 1.2), {"addr:street": "ул. Абая", "addr:housenumber": "5"}),
    (903, (1.9, 0.1), {}),  # unnamed, no address: next to улица Толе би (row 2)
    (904, (9.0, 9.0), {}),  # unnamed, far from every street
    (905, (0.5, 1.5), {"name": "ОблГАИ"}),
    (906, (0.6, 1.5), {"police": "traffic_police", "name": "Пост"}),
    (907, (0.7, 1.5), {"name": "спецЦОН (экзамен на права)"}),
    (908, (0.8, 1.5), {"name": "Засада"}),
    (909, (0.9, 1.5), {"attention": "Скорость не более 60 км/ч"}),
    (910, (1.5, 0.5), {"name": "Police", "addr:street": "ул. Абая", "addr:housenumber": "7"}),
    (911, (1.6, 0.6), {"name": "Жол полициясы"}),
    (912, (1.7, 0.7), {"name": "Traffic Police Department"}),
]
KEPT = {"OSM-n901", "OSM-n902", "OSM-n903", "OSM-n904", "OSM-n910"}


def police_city_xml() -> str:
    """A 3 x 3 street grid (rows named) and the police objects of `POLICE`."""
    nodes, ways = [], []

    def tags_xml(tags: dict[str, str]) -> str:
        return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())

    for i in range(3):
        for j in range(3):
            lat, lon = grid_latlon(i, j)
            nodes.append(f'<node id="{1 + i * 3 + j}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    names = ["ул. Абая", "улица Кабанбай батыра", "улица Толе би"]
    for i, name in enumerate(names):
        refs = "".join(f'<nd ref="{1 + i * 3 + j}"/>' for j in range(3))
        ways.append(f'<way id="{100 + i}" version="1">{refs}{tags_xml({"highway": "residential", "name": name})}</way>')
    for j in range(3):
        refs = "".join(f'<nd ref="{1 + i * 3 + j}"/>' for i in range(3))
        ways.append(f'<way id="{200 + j}" version="1">{refs}{tags_xml({"highway": "residential"})}</way>')
    for nid, (i, j), tags in POLICE:
        lat, lon = grid_latlon(i, j)
        body = tags_xml({"amenity": "police", **tags})
        nodes.append(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
    return ("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"tests\">\n"
            + "\n".join(nodes + ways) + "\n</osm>\n")


@pytest.fixture()
def police_osm(tmp_path: Path) -> Path:
    path = tmp_path / "police.osm"
    path.write_text(police_city_xml(), encoding="utf-8")
    return path


def test_only_precinct_posts_are_kept_and_each_drop_is_reported(police_osm: Path) -> None:
    extract = read_osm(police_osm)
    report = ProblemReport()
    posts = posts_from_osm(extract.police, ways=extract.ways, report=report, source="police.osm")
    assert set(posts.post_id) == KEPT
    lines = [p.line() for p in report.warnings]
    assert len(lines) == len(POLICE) - len(KEPT)
    dropped = {re.search(r"amenity=police n(\d+)", line).group(1): line for line in lines}  # type: ignore[union-attr]
    assert set(dropped) == {"905", "906", "907", "908", "909", "911", "912"}
    assert "traffic police" in dropped["905"] and "(ОблГАИ)" in dropped["905"]
    assert "police=traffic_police" in dropped["906"]
    assert "a driving exam centre" in dropped["907"]
    assert "an ambush point" in dropped["908"]
    assert 'traffic police ("Скорость")' in dropped["909"]
    assert all(line.startswith("warning: police.osm: amenity=police n") and "fix: " in line for line in lines)


def test_unnamed_posts_get_readable_names_never_the_osm_id(police_osm: Path) -> None:
    extract = read_osm(police_osm)
    posts = posts_from_osm(extract.police, ways=extract.ways).set_index("post_id")
    assert posts.name["OSM-n901"] == "участок полиции №5"
    assert posts.name["OSM-n902"] == "Пост полиции, ул. Абая 5"  # its address
    assert posts.name["OSM-n903"] == "Пост полиции, улица Толе би"  # the nearest named street
    assert posts.name["OSM-n904"] == "Пост полиции №4"  # nothing near: its position in the list
    assert posts.name["OSM-n910"] == "Пост полиции, ул. Абая 7"  # "Police" says nothing: its address
    assert not any(re.search(r"\d{3}", n) and "№" not in n and "Абая" not in n for n in posts.name)
    assert not any(n.lower().startswith("police") for n in posts.name)


def test_keep_all_keeps_every_police_object(police_osm: Path) -> None:
    extract = read_osm(police_osm)
    report = ProblemReport()
    posts = posts_from_osm(extract.police, ways=extract.ways, report=report, keep_all=True)
    assert len(posts) == len(POLICE) and not report.problems


def test_general_rules_in_three_languages() -> None:
    post = {"name": "", "text": ""}
    assert not_a_post(post) is None
    assert not_a_post({**post, "name": "участок полиции №26"}) is None
    assert not_a_post({**post, "name": "РУВД Алмалинского района"}) is None
    assert not_a_post({**post, "name": "Учаскелік полиция бекеті"}) is None
    assert not_a_post({**post, "name": "ГАИ"}).startswith("traffic police")  # type: ignore[union-attr]
    assert not_a_post({**post, "name": "ДП г. Алматы"}).startswith("traffic police")  # type: ignore[union-attr]
    assert not_a_post({**post, "name": "Highway Patrol"}).startswith("traffic police")  # type: ignore[union-attr]
    assert not_a_post({**post, "name": "Емтихан орталығы"}).startswith("a driving")  # type: ignore[union-attr]
    assert not_a_post({**post, "police": "checkpoint"}) == "police=checkpoint"
    # An address is not the object's words: "проезд" is a street type there.
    assert not_a_post({**post, "street": "Проезд на Медеу", "housenumber": "1"}) is None


def test_build_report_lists_what_it_left_out(police_osm: Path, tmp_path: Path) -> None:
    m = build_city(BuildOptions(osm=police_osm, out=tmp_path / "b", city="police"))
    left_out = [line for line in m["problems"] if "not a precinct post" in line]
    assert len(left_out) == len(POLICE) - len(KEPT)
    city = load_bundle(tmp_path / "b")
    assert set(city.posts.post_id) == KEPT
    assert not any("police n" in str(n) for n in city.posts.name)
    kept_all = build_city(BuildOptions(osm=police_osm, out=tmp_path / "all", city="police", all_police=True))
    assert kept_all["counts"]["posts"] == len(POLICE)


@pytest.mark.shared_data
def test_almaty_posts_are_precinct_posts_with_names(tmp_path: Path) -> None:
    """The 2012 Almaty extract: 40 amenity=police objects, 25 of them traffic watch points
    (22 tagged with the rule they watch, ОблГАИ, "Дорожная полиция ..."), an exam centre and
    "Засада"; 15 posts are left, none named after its OSM id."""
    osm = shared_file("almaty", "almaty.osm.pbf")
    extract = read_osm(osm)
    report = ProblemReport()
    posts = posts_from_osm(extract.police, ways=extract.ways, report=report, source=osm.name)
    assert len(extract.police) == 40 and len(posts) == 15 and len(report.warnings) == 25
    lines = "\n".join(p.line() for p in report.warnings)
    for dropped in ("ОблГАИ", "Засада", "экзамен", "Дорожная полиция"):
        assert dropped in lines
    assert not any(re.search(r"police [nw]\d", n) for n in posts.name)
    assert {"участок полиции №51", "участок полиции №26", "РУВД Алмалинского района"} <= set(posts.name)
    assert posts.name.is_unique
