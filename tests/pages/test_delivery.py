"""How pages, static files and the base map's tiles travel (issue 21): compressed, static files
under content-hashed URLs cached for a year, pages and answers to credentials never kept by a
shared cache, tiles from the bundle with the bundle's version in their URL."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import brotli
import mapbox_vector_tile
import pytest

from geo_service.ingest.tiles import TILES_FILE, tile_bounds, tiles_of_bbox
from geo_service.web.static_assets import IMMUTABLE, STATIC_EXT

STATIC = Path(__file__).resolve().parents[2] / "geo_service" / "static"
BR = {"Accept-Encoding": "br, gzip"}
HASHED = re.compile(r'(?:src|href)="(/static/h/([0-9a-f]{12})/([^"]+))"')


def _auth(app: Any, role: str) -> dict[str, str]:
    from geo_service.web.context import STORE_EXT

    _, token = app.extensions[STORE_EXT].create_credential(name=f"d-{role}", role=role, kind="user_token",
                                                          subject="d")
    return {"Authorization": f"Bearer {token}"}


def test_pages_and_answers_are_compressed(client: Any) -> None:
    for url in ("/precincts/map?lang=ru", "/", "/api/v1/openapi.json", "/api/v1/precincts"):
        resp = client.get(url, headers=BR)
        assert resp.status_code == 200, url
        assert resp.headers["Content-Encoding"] == "br", url
        assert "Accept-Encoding" in resp.headers["Vary"], url
        assert len(brotli.decompress(resp.data)) > len(resp.data), url
    gz = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data).startswith(b"{")
    plain = client.get("/api/v1/openapi.json")  # no Accept-Encoding: sent as it is
    assert "Content-Encoding" not in plain.headers and plain.data.startswith(b"{")
    page = client.get("/precincts/map", headers=BR)
    assert page.headers["Cache-Control"] == "no-cache"  # a page is revalidated; never immutable


def test_static_files_are_hashed_immutable_and_compressed(client: Any) -> None:
    html = client.get("/precincts/map?lang=en").get_data(as_text=True)
    links = HASHED.findall(html)
    assert len(links) >= 15
    assert not re.search(r'(?:src|href)="/static/(?!h/)', html)  # every static link is hashed
    for url, digest, rel in links:
        resp = client.get(url, headers=BR)
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == IMMUTABLE, url
        assert resp.headers["ETag"] == f'"{digest}"'
        body = brotli.decompress(resp.data) if resp.headers.get("Content-Encoding") == "br" else resp.data
        if not rel.endswith(".css"):
            assert body == (STATIC / rel).read_bytes(), url
        if rel.endswith((".js", ".css")) and len(body) > 2000:
            assert resp.headers["Content-Encoding"] == "br", url
        again = client.get(url, headers={**BR, "If-None-Match": f'"{digest}"'})
        assert again.status_code == 304 and not again.data


def test_style_sheets_name_their_fonts_and_images_by_hash(client: Any) -> None:
    hashed = client.application.extensions[STATIC_EXT]
    css = client.get(hashed.url("vendor/@fortawesome/fontawesome-free/css/all.min.css")).get_data(as_text=True)
    fonts = re.findall(r"url\((/static/h/[0-9a-f]{12}/vendor/@fortawesome/fontawesome-free/webfonts/[^)]+)\)", css)
    assert any(f.endswith("fa-solid-900.woff2") for f in fonts)
    assert "../webfonts/" not in css
    for url in fonts:
        assert client.get(url).headers["Cache-Control"] == IMMUTABLE, url


def test_an_old_digest_gets_the_current_file_revalidated(client: Any) -> None:
    resp = client.get("/static/h/000000000000/app/route.js")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-cache"
    assert resp.data == (STATIC / "app" / "route.js").read_bytes()
    plain = client.get("/static/app/pages.css")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    for bad in ("/static/h/abcdef123456/../../setup.cfg", "/static/nope.js", "/static/h/abcdef123456/nope.js"):
        assert client.get(bad).status_code == 404, bad


def test_answers_to_credentials_are_never_stored(app: Any, client: Any) -> None:
    planner = _auth(app, "planner")
    resp = client.get("/workload/map", headers={**planner, **BR})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Encoding"] == "br"
    hashed = app.extensions[STATIC_EXT]
    asset = client.get(hashed.url("app/pages.css"), headers=planner)
    assert asset.headers["Cache-Control"] == "no-store"  # the security layer's rule wins


def _tile_url(client: Any) -> str:
    html = client.get("/precincts/map").get_data(as_text=True)
    return re.search(r'"url":"(/tiles/[^"]+)"', html).group(1)


def test_tiles_come_from_the_bundle(app: Any, client: Any) -> None:
    from geo_service.bundle import load_bundle

    city = app.extensions["geo_service"]
    assert (city.path / TILES_FILE).is_file()
    template = _tile_url(client)
    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    x0, y0, x1, y1 = tiles_of_bbox([minlon, minlat, maxlon, maxlat], 14)
    resp = client.get(template.format(z=14, x=x0, y=y0), headers=BR)
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Cache-Control"] == IMMUTABLE
    tile = mapbox_vector_tile.decode(gzip.decompress(resp.data))
    assert {"roads", "precincts"} <= set(tile)
    names = {f["properties"].get("name") for f in tile["roads"]["features"]}
    assert names & set(city.walk.names), names
    assert {f["properties"]["kind"] for f in tile["roads"]["features"]} <= {"major", "street", "path"}
    assert {f["properties"]["id"] for f in tile["precincts"]["features"]} <= {"P-01", "P-02"}
    plain = client.get(template.format(z=14, x=x0, y=y0))  # no gzip asked for: the tile decompressed
    assert "Content-Encoding" not in plain.headers and plain.data == gzip.decompress(resp.data)
    empty = client.get(template.format(z=14, x=0, y=0))
    assert empty.status_code == 204 and not empty.data
    deep = client.get(template.format(z=18, x=x0 * 16, y=y0 * 16))
    assert deep.status_code == 204  # past the archive's zooms: the page overzooms zoom 14
    old = client.get(re.sub(r"/tiles/[^/]+/", "/tiles/an-older-bundle/", template).format(z=14, x=x0, y=y0))
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    assert client.get(template.format(z=14, x=1 << 14, y=0)).status_code == 204
    assert load_bundle(city.path).manifest["tiles"]["tiles"]["14"] >= 1


def test_tile_geometry_lands_where_the_roads_are(app: Any, client: Any) -> None:
    """A road node's position, put into tile units by the tile's bounds, lies on a road line of the tile."""
    import numpy as np
    import shapely

    city = app.extensions["geo_service"]
    lon, lat = float(np.median(city.walk.lon)), float(np.median(city.walk.lat))
    x0, y0, _, _ = tiles_of_bbox([lon, lat, lon, lat], 14)
    data = gzip.decompress(client.get(_tile_url(client).format(z=14, x=x0, y=y0), headers=BR).data)
    roads = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["roads"]
    lines = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in roads["features"]])
    minx, miny, maxx, maxy = tile_bounds(14, x0, y0)
    mx = np.radians(lon) * 6378137.0
    my = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * 6378137.0
    px, py = (mx - minx) / (maxx - minx) * 4096, (maxy - my) / (maxy - miny) * 4096
    assert lines.distance(shapely.Point(px, py)) < 3, (px, py)  # within 3 units (about 2 m at zoom 14)


def test_a_bundle_without_tiles_still_draws_its_roads(app: Any, tmp_path: Path) -> None:
    """Bundles built before the tiles: the roads go into the page, and /tiles/ says why it has none."""
    import shutil

    from geo_service import create_app

    city = app.extensions["geo_service"]
    old = tmp_path / "old"
    shutil.copytree(city.path, old)
    (old / TILES_FILE).unlink()
    client = create_app({"BUNDLE": str(old), "TESTING": True}).test_client()
    html = client.get("/precincts/map").get_data(as_text=True)
    assert "GeoServiceBase.add(" not in html and '"MultiLineString"' in html
    assert client.get("/tiles/x/14/0/0.mvt").status_code == 404


@pytest.mark.parametrize("lang,name", [("kk", "Алматы"), ("en", "Almaty")])
def test_city_name_in_the_page_language(app: Any, client: Any, lang: str, name: str) -> None:
    city = app.extensions["geo_service"]
    city.manifest["city_names"] = {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"}
    city._cache.clear()
    html = client.get(f"/precincts/map?lang={lang}").get_data(as_text=True)
    assert f"· {name}</title>" in html
    city.manifest.pop("city_names")
    city._cache.clear()
    assert "· tiny</title>" in client.get(f"/precincts/map?lang={lang}").get_data(as_text=True)


def test_tiles_still_serve_after_the_bundle_folder_is_gone(app: Any, tmp_path: Path) -> None:
    import shutil

    from geo_service import create_app

    city = app.extensions["geo_service"]
    copy = tmp_path / "copy"
    shutil.copytree(city.path, copy)
    client = create_app({"BUNDLE": str(copy), "TESTING": True}).test_client()
    template = _tile_url(client)
    x0, y0, _, _ = tiles_of_bbox(city.manifest["bbox"], 14)
    before = client.get(template.format(z=14, x=x0, y=y0), headers=BR)
    shutil.rmtree(copy)
    after = client.get(template.format(z=14, x=x0, y=y0), headers=BR)
    assert before.status_code == after.status_code == 200 and after.data == before.data
