"""Text from users, files and OpenStreetMap is data, never code.

Hostile text goes in through each real input path (the OSM extract's ``name`` tags, the
precinct GeoJSON, the roster CSV, API bodies), every page and printable sheet is rendered,
and each must show the text escaped and literal: no template expression evaluated (no
``zz49zz``), no markup of ours broken open, no server error.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest

from geo_service.pages.i18n import LANGS
from tests.conftest import TWO_PRECINCTS, grid_latlon, polygon, tiny_city_xml

#: Template syntax (evaluated, unclosed and comment), markup, an entity, a script URL, RTL and
#: zero-width characters. ``zz{{7*7}}zz`` shows as ``zz49zz`` when text is compiled as a template;
#: the unclosed ``{% raw %}`` and ``{#`` make such a template fail (a 500).
PAYLOAD = ('zz{{7*7}}zz {% raw %} {# <script>alert("x")</script> "><img src=x onerror=alert(1)> '
           "&amp; & javascript:alert(1) \u202eRTL\u200b")
#: The parts a page must never carry as they are (only escaped).
RAW_MARKUP = ('<script>alert("x")', '<img src=x onerror', '"><img')
#: Sources whose text reaches a page, each tagged so a page's text can be traced to it.
SOURCES = ("OSMPOST", "OSMSTREET", "PRECINCT", "RNAME", "RRANK", "RHOURS", "RADDR", "LABEL")


def hostile(source: str) -> str:
    return f"{source}:{PAYLOAD}"


def _osm(tmp: Path) -> Path:
    xml = tiny_city_xml()
    xml = xml.replace(f'v={quoteattr("участок полиции №1")}', f"v={quoteattr(hostile('OSMPOST'))}")
    # One street with a hostile name, one with the longest name OSM allows (255 characters).
    xml = xml.replace(f'v={quoteattr("улица Пушкина")}', f"v={quoteattr(hostile('OSMSTREET'))}", 1)
    xml = xml.replace(f'v={quoteattr("улица Назарбаева")}', f"v={quoteattr('Ж' * 255)}")
    path = tmp / "hostile.osm"
    path.write_text(xml, encoding="utf-8")
    return path


def _precincts(tmp: Path) -> Path:
    names = {"P-01": hostile("PRECINCT"), "P-02": "=cmd|' /C calc'!A0"}  # a formula for spreadsheets
    features = [{"type": "Feature", "properties": {"precinct_id": pid, "name": names[pid]},
                 "geometry": {"type": "Polygon", "coordinates": polygon(*rect)}}
                for pid, rect in TWO_PRECINCTS.items()]
    path = tmp / "precincts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _roster(tmp: Path) -> Path:
    lat, lon = grid_latlon(0.3, 0.3)
    path = tmp / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["inspector_id", "precinct_id", "inspector_name", "rank", "phone", "reception_hours",
                    "post_lat", "post_lon", "post_address"])
        w.writerow(["UI-1", "P-01", hostile("RNAME"), hostile("RRANK"), "+7 727 000 0001", hostile("RHOURS"),
                    f"{lat:.6f}", f"{lon:.6f}", hostile("RADDR")])
        w.writerow(["UI-2", "P-02", "=HYPERLINK(\"http://x\")", "@SUM(1)", "+7 727 000 0002", "-2+3", "", "", ""])
    return path


def make_hostile_app(tmp: Path, *, files: bool = True, **config: Any) -> Any:
    """The app over the tiny city built from hostile inputs: the OSM extract, and with
    ``files`` the precinct GeoJSON and the roster too (else precincts derived from OSM)."""
    from geo_service import create_app
    from geo_service.ingest.build import BuildOptions, build_city

    extra = {"precincts": _precincts(tmp), "roster": _roster(tmp)} if files else {}
    build_city(BuildOptions(osm=_osm(tmp), out=tmp / "bundle", city="tiny", **extra))
    app = create_app({"BUNDLE": str(tmp / "bundle"), "TESTING": True, "RATELIMIT_USER": "100000/minute",
                      "RATELIMIT_PUBLIC": "100000/minute", **config})
    return app


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_hostile_app(tmp_path_factory.mktemp("hostile"))


def auth(app: Any, role: str, **kw: Any) -> dict[str, str]:
    from geo_service.web.context import STORE_EXT

    _, token = app.extensions[STORE_EXT].create_credential(name=f"h-{role}", role=role, kind="user_token", **kw)
    return {"Authorization": f"Bearer {token}"}


def make_plan(app: Any) -> tuple[str, str]:
    """A kept plan with hostile visit labels; its id and its signed link."""
    client = app.test_client()
    ui1 = auth(app, "inspector", subject="UI-1", precinct_ids=("P-01",))
    visits = []
    for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2)]):
        lat, lon = grid_latlon(i, j)
        visits.append({"id": f"v{k}", "lat": lat, "lon": lon, "minutes": 10, "priority": 2,
                       "label": hostile("LABEL")[:200]})
    resp = client.post("/api/v1/routes/plan", headers=ui1,
                       json={"inspector_id": "UI-1", "date": "2026-12-01", "visits": visits})
    assert resp.status_code == 201, resp.json
    plan_id = resp.json["id"]
    link = client.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1)
    assert link.status_code in {200, 201}, link.json
    return plan_id, link.json["url"]


def _pages(app: Any) -> dict[str, tuple[str, dict[str, str]]]:
    """Every page and printable sheet, with the credentials it needs."""
    client = app.test_client()
    planner = auth(app, "planner")
    ui1 = auth(app, "inspector", subject="UI-1", precinct_ids=("P-01",))
    plan_id, link = make_plan(app)
    siting = client.post("/api/v1/siting/solve", headers=planner,
                         json={"model": "mclp", "minutes": 5, "p": 1, "time_limit": 5})
    assert siting.status_code in (200, 201), siting.json
    pages: dict[str, tuple[str, dict[str, str]]] = {}
    for lang in LANGS:
        pages[f"home-{lang}"] = (f"/?lang={lang}", {})
        pages[f"precincts-{lang}"] = (f"/precincts/map?lang={lang}", {})
        pages[f"route-{lang}"] = (f"/routes/{plan_id}/map?lang={lang}", ui1)
        pages[f"link-{lang}"] = (f"{link}?lang={lang}", {})
        pages[f"public-{lang}"] = (f"/p/P-01?lang={lang}", {})
        pages[f"siting-{lang}"] = (f"/siting/{siting.json['id']}/map?lang={lang}", planner)
        pages[f"workload-{lang}"] = (f"/workload/map?lang={lang}", planner)
        pages[f"dashboard-{lang}"] = (f"/workload/dashboard?lang={lang}", planner)
    pages["sheet"] = (f"/api/v1/routes/plans/{plan_id}/sheet", ui1)
    pages["link-sheet"] = (f"{link}/sheet", {})
    pages["docs"] = ("/api/v1/docs", {})
    return pages


def _literal_in(text: str, html: str) -> bool:
    """``text``'s template part shows literally in the page (as HTML text or JSON data)."""
    return text in html or json.dumps(text, ensure_ascii=False)[1:-1].replace("<", "\\u003c") in html


def test_hostile_text_shows_as_text_on_every_page(hostile_app: Any) -> None:
    client = hostile_app.test_client()
    shown: dict[str, set[str]] = {}
    for name, (url, headers) in _pages(hostile_app).items():
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (name, resp.status_code)
        html = resp.get_data(as_text=True)
        assert "zz49zz" not in html, name
        for raw in RAW_MARKUP:
            assert raw not in html, (name, raw)
        assert not re.search(r"""<a [^>]*href=["']?\s*javascript:""", html, re.I), name
        shown[name] = {s for s in SOURCES if _literal_in(f"{s}:zz{{{{7*7}}}}zz {{% raw %}} {{#", html)}
    # Each source reaches the pages that show it, literally.
    roster = {"PRECINCT", "RNAME", "RRANK", "RHOURS", "RADDR"}
    for lang in LANGS:
        # The precinct map draws its precincts from the tiles: its card comes from the lookup API (the
        # browser test shows it as text), so the page itself holds none of the roster (#21).
        assert shown[f"precincts-{lang}"] == set() and shown[f"public-{lang}"] == roster
        assert shown[f"route-{lang}"] == shown[f"link-{lang}"] == {"LABEL"}
        assert shown[f"workload-{lang}"] == shown[f"dashboard-{lang}"] == {"PRECINCT"}
    assert shown["sheet"] == shown["link-sheet"] == {"LABEL"}


@pytest.fixture(scope="module")
def osm_only_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """No department files: precincts derived from the OSM police posts, named after them."""
    return make_hostile_app(tmp_path_factory.mktemp("hostile-osm"), files=False)


def test_hostile_osm_names_show_as_text(osm_only_app: Any) -> None:
    client = osm_only_app.test_client()
    precincts = client.get("/api/v1/precincts").json
    ids = [f["id"] for f in precincts["features"]] if "features" in precincts else [p["id"] for p in precincts]
    marker = "OSMPOST:zz{{7*7}}zz {% raw %} {#"
    for url in [f"/precincts/map?lang={lang}" for lang in LANGS] + [f"/p/{pid}" for pid in ids]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert "zz49zz" not in html and not any(raw in html for raw in RAW_MARKUP), url
    assert _literal_in(marker, client.get("/precincts/map").get_data(as_text=True))
    # The street's name is data in the lookup's answer too.
    answer = client.get("/api/v1/lookup", query_string={"address": hostile("OSMSTREET")[:150] + " 13/1"})
    assert answer.status_code == 200 and answer.json["candidates"][0]["street"] == hostile("OSMSTREET")


def test_gpx_keeps_hostile_text_as_xml_text(hostile_app: Any) -> None:
    client = hostile_app.test_client()
    plan_id, link = make_plan(hostile_app)
    for url, headers in ((f"/api/v1/routes/plans/{plan_id}/gpx",
                          auth(hostile_app, "inspector", subject="UI-1", precinct_ids=("P-01",))),
                         (f"{link}/gpx", {})):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200
        root = ET.fromstring(resp.data)
        texts = [e.text or "" for e in root.iter()]
        assert any(hostile("LABEL")[:200] in t for t in texts), texts[:20]


def test_an_overlong_osm_tag_is_one_readable_error(tmp_path: Path) -> None:
    from geo_service.errors import InputFileError
    from geo_service.ingest.build import BuildOptions, build_city

    path = tmp_path / "long.osm"
    path.write_text(tiny_city_xml().replace(f'v={quoteattr("улица Пушкина")}', f"v={quoteattr('Ж' * 10_000)}"),
                    encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot read the OSM file") as err:
        build_city(BuildOptions(osm=path, out=tmp_path / "b"))
    assert "\n" not in err.value.user_message and not (tmp_path / "b").exists()


def test_hostile_api_text_is_refused_or_kept_as_text(hostile_app: Any) -> None:
    """Through the API: lone surrogates are a 400 naming the field; long or odd text never a 500."""
    client = hostile_app.test_client()
    ui1 = auth(hostile_app, "inspector", subject="UI-1", precinct_ids=("P-01",))
    lat, lon = grid_latlon(0.5, 0.2)
    base = {"inspector_id": "UI-1", "date": "2026-12-01",
            "visits": [{"id": "v0", "lat": lat, "lon": lon, "minutes": 10, "label": "x"}]}
    raw = json.dumps(base).replace('"label": "x"', '"label": "a\\ud800b"')
    resp = client.post("/api/v1/routes/plan", data=raw, content_type="application/json", headers=ui1)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert resp.json["field"] == "visits[0].label", resp.json
    for label in ("Ж" * 10_000, PAYLOAD, "\u202e\u200b"):
        body = {**base, "visits": [{**base["visits"][0], "label": label}]}
        resp = client.post("/api/v1/routes/plan", json=body, headers=ui1)
        assert resp.status_code in (201, 400), resp.status_code
    for address in (PAYLOAD, "Ж" * 10_000, "{{7*7}}"):
        resp = client.get("/api/v1/lookup", query_string={"address": address})
        assert resp.status_code < 500 and "zz49zz" not in resp.get_data(as_text=True)
        assert not (resp.status_code == 200 and resp.json.get("query") == "49"), resp.json


def test_csv_exports_defuse_formulas(hostile_app: Any, tmp_path: Path) -> None:
    """Workload, indicators and audit CSVs: no text cell starts as a spreadsheet formula."""
    from geo_service.web.context import STORE_EXT

    client = hostile_app.test_client()
    admin, planner = auth(hostile_app, "admin"), auth(hostile_app, "planner")
    made = client.post("/admin/keys", headers=admin, json={"name": "=HYPERLINK(\"http://x\")", "role": "planner"})
    assert made.status_code == 201, made.json
    texts = [client.get("/api/v1/workload?format=csv", headers=planner).get_data(as_text=True),
             client.get("/api/v1/workload/indicators.csv", headers=planner).get_data(as_text=True)]
    hostile_app.extensions[STORE_EXT].audit_export(tmp_path / "audit.csv")
    texts.append((tmp_path / "audit.csv").read_text(encoding="utf-8"))
    assert "'=cmd|" in texts[0]  # the precinct's name is there, defused
    for text in texts:
        for row in csv.reader(text.splitlines()):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                assert not (cell.startswith("-") and not _number(cell)), cell


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: folium/branca classes that compile a string, or their own rendered output, as a Jinja
#: template (`Element(text)`, and `Popup`, `Tooltip`, `GeoJsonTooltip`, `GeoJsonPopup`, `Html`,
#: which render through `Element(...)` outside `MacroElement.render`): pages must not build them.
TEMPLATE_COMPILERS = {"Element", "Popup", "Tooltip", "GeoJsonTooltip", "GeoJsonPopup", "Html", "Template"}


def test_pages_build_no_element_that_compiles_text() -> None:
    """Every page puts markup into folium as `LiteralHtml`; no page module constructs a class
    that would compile text (the one fixed template in `LiteralHtml` and the page classes'
    own class-level templates are literals in the source)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "geo_service" / "pages"
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                literal = all(isinstance(a, ast.Constant) for a in node.args) and not node.keywords
                if name in TEMPLATE_COMPILERS and not literal:
                    found.append(f"{path.name}:{node.lineno} {name}")
    assert not found, found
