"""Shared fixtures: tiny generated OSM cities, precinct files, rosters, built bundles, app."""

from __future__ import annotations

import bz2
import json
import socket
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from geo_service import clock

PG_HOST, PG_PORT = "127.0.0.1", 5432


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def pg_url() -> str:
    """A PostgreSQL URL of the test server (database ``test``), or skip the test with the reason."""
    if not reachable(PG_HOST, PG_PORT):
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    import sqlalchemy

    for user in ("postgres", "root"):
        url = f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/test"
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect():
                return url
        except Exception:  # noqa: BLE001 - try the next user
            continue
        finally:
            engine.dispose()
    pytest.skip("PostgreSQL answers but neither user postgres nor root may open database test")


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Grid origin and spacing (about 200 m each way) in central Almaty.
LAT0, LON0, DLAT, DLON = 43.25, 76.90, 0.0018, 0.0025


@pytest.fixture(autouse=True)
def _stated_now(request: pytest.FixtureRequest):
    """A test that compares with "now" states the moment it needs: ``@pytest.mark.now(ISO)``.

    The service's clock (`geo_service.clock`) then starts at that moment and runs on, for the
    whole process (the server threads of the browser tests included), so the test passes on
    any date it is run."""
    mark = request.node.get_closest_marker("now")
    if mark is None:
        yield None
        return
    with clock.frozen_at(mark.args[0]) as start:
        yield start


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data is not next to this checkout)")
    return path


def node_id(i: int, j: int) -> int:
    return 1 + i * 4 + j


def grid_latlon(i: float, j: float) -> tuple[float, float]:
    return LAT0 + i * DLAT, LON0 + j * DLON


def tiny_city_xml(*, clipped: bool = True) -> str:
    """A 4x4 street grid with Kazakh/Russian names, a one-way street, a way clipped at
    the extract edge, a disconnected piece, buildings with addresses and two police posts."""
    nodes: list[str] = []
    ways: list[str] = []
    next_way = [1000]

    def node(nid: int, lat: float, lon: float, tags: dict[str, str] | None = None) -> None:
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in (tags or {}).items())
        nodes.append(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')

    def way(refs: list[int], tags: dict[str, str], wid: int | None = None) -> None:
        if wid is None:
            next_way[0] += 1
            wid = next_way[0]
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        ways.append(f'<way id="{wid}" version="1">{body}</way>')

    for i in range(4):
        for j in range(4):
            node(node_id(i, j), *grid_latlon(i, j))
    rows = [
        {"highway": "primary", "name": "проспект Абая", "name:kk": "Абай даңғылы", "name:ru": "проспект Абая"},
        {"highway": "secondary", "name": "улица Кабанбай батыра", "name:kk": "Қабанбай батыр көшесі"},
        {"highway": "residential", "name": "улица Толе би", "name:kk": "Төле би көшесі"},
        {"highway": "residential"},  # unnamed street
    ]
    for i, tags in enumerate(rows):
        way([node_id(i, j) for j in range(4)], tags, 101 + i)
    cols = [
        {"highway": "tertiary", "name": "улица Жибек жолы", "oneway": "yes"},
        {"highway": "residential", "name": "улица Пушкина"},
        {"highway": "residential", "name": "улица Пушкина"},
        {"highway": "residential", "name": "улица Назарбаева", "maxspeed": "KZ:urban"},
    ]
    for j, tags in enumerate(cols):
        way([node_id(i, j) for i in range(4)], tags, 201 + j)
    if clipped:
        node(9001, *grid_latlon(3.5, 3.5))
        # Node 9999 is not in the file: the way is clipped at the extract edge.
        way([node_id(3, 3), 9001, 9999], {"highway": "service"}, 301)
    # A disconnected piece far to the east.
    node(50, *grid_latlon(1, 12))
    node(51, *grid_latlon(2, 12))
    way([50, 51], {"highway": "residential", "name": "улица Отдельная"}, 401)
    # A footway (walk only) on the diagonal of the first block.
    way([node_id(0, 0), node_id(1, 1)], {"highway": "footway"}, 501)
    # An untagged way and a landuse polygon: not roads.
    way([node_id(0, 0), node_id(0, 1)], {}, 601)
    # Buildings with addresses, one per block, and address nodes.
    addr = [("Абая пр.", "150"), ("Абая", "152"), ("Кабанбай батыра", "32/1"), ("Толе би", "29А"),
            ("Пушкина", "13/1"), ("Жибек жолы", "48А к2"), ("Назарбаева", "17-23"), ("Абая", "154"),
            ("Толе би", "31")]
    nid = 700
    for k, (street, house) in enumerate(addr):
        i, j = 0.5 + (k // 3), 0.5 + (k % 3)
        corners = []
        for di, dj in ((-0.1, -0.1), (-0.1, 0.1), (0.1, 0.1), (0.1, -0.1)):
            nid += 1
            node(nid, *grid_latlon(i + di, j + dj))
            corners.append(nid)
        way(corners + corners[:1], {"building": "apartments", "building:levels": str(5 + k),
                                    "addr:street": street, "addr:housenumber": house})
    node(801, *grid_latlon(0.2, 2.8), {"addr:street": "Абая", "addr:housenumber": "160"})
    node(802, *grid_latlon(2.8, 0.2), {"addr:place": "Самал-2", "addr:housenumber": "58"})
    node(901, *grid_latlon(0.3, 0.3), {"amenity": "police", "name": "участок полиции №1",
                                       "addr:street": "Абая", "addr:housenumber": "150"})
    node(902, *grid_latlon(2.7, 2.7), {"amenity": "police", "name": "участок полиции №2"})
    return ("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\" generator=\"tests\">\n"
            + "\n".join(nodes) + "\n" + "\n".join(ways) + "\n</osm>\n")


@pytest.fixture()
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(tiny_city_xml(), encoding="utf-8")
    return path


@pytest.fixture()
def tiny_osm_bz2(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm.bz2"
    path.write_bytes(bz2.compress(tiny_city_xml().encode("utf-8")))
    return path


@pytest.fixture()
def tiny_pbf(tmp_path: Path, tiny_osm: Path) -> Path:
    import osmium

    path = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(tiny_osm)):
            writer.add(obj)
    return path


def polygon(i0: float, j0: float, i1: float, j1: float) -> list[list[list[float]]]:
    """A grid-aligned rectangle as GeoJSON coordinates ([lon, lat])."""
    (a, b), (c, d) = grid_latlon(i0, j0), grid_latlon(i1, j1)
    return [[[b, a], [d, a], [d, c], [b, c], [b, a]]]


@pytest.fixture()
def write_precincts(tmp_path: Path) -> Callable[..., Path]:
    """Write a GeoJSON of precincts: ``{id: rectangle (i0, j0, i1, j1)}``."""

    def _write(rects: dict[str, tuple[float, float, float, float]], name: str = "precincts.geojson",
               coords: dict[str, list] | None = None) -> Path:
        features = []
        for pid, rect in rects.items():
            geom = {"type": "Polygon", "coordinates": (coords or {}).get(pid) or polygon(*rect)}
            features.append({"type": "Feature", "properties": {"precinct_id": pid, "name": f"Участок {pid}"},
                             "geometry": geom})
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
        return path

    return _write


#: Two precincts splitting the grid between columns 1 and 2 (a shared border street).
TWO_PRECINCTS = {"P-01": (-0.5, -0.5, 3.5, 1.5), "P-02": (-0.5, 1.5, 3.5, 3.6)}


@pytest.fixture()
def write_roster(tmp_path: Path) -> Callable[..., Path]:
    def _write(rows: list[tuple[str, ...]] | None = None, name: str = "roster.csv") -> Path:
        rows = rows if rows is not None else [
            ("UI-1", "P-01", "Серік Ахметов", "майор полиции", "+7 727 000 0001", "Вт/Чт 17:00-20:00",
             f"{grid_latlon(0.3, 0.3)[0]:.6f}", f"{grid_latlon(0.3, 0.3)[1]:.6f}", "Абая 150"),
            ("UI-2", "P-02", "Айгүл Сейітова", "капитан полиции", "+7 727 000 0002", "Ср/Пт 17:00-20:00",
             "", "", ""),
        ]
        header = "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address"
        lines = [header] + [",".join(f'"{v}"' for v in r) for r in rows]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return _write


@pytest.fixture()
def built_tiny(tmp_path: Path, tiny_osm: Path, write_precincts: Callable[..., Path],
               write_roster: Callable[..., Path]) -> Path:
    """A bundle built from the tiny city with official precincts and a roster."""
    from geo_service.ingest.build import BuildOptions, build_city

    out = tmp_path / "bundle"
    build_city(BuildOptions(osm=tiny_osm, out=out, precincts=write_precincts(TWO_PRECINCTS),
                            roster=write_roster(), city="tiny"))
    return out


@pytest.fixture()
def app(built_tiny: Path):
    from geo_service import create_app

    app = create_app({"BUNDLE": str(built_tiny), "TESTING": True})
    yield app


@pytest.fixture()
def client(app):
    return app.test_client()
