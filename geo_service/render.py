"""Pages people read: Folium maps and the small HTML pages around them. No computation.

Every page loads its scripts, styles and fonts from the app's own static folder
(``static_url``): the vendored files folium uses (see `geo_service.assets`) and the
page's own ``static/app/`` script and style. The only external URLs in a page are
the optional OpenStreetMap tile layer (off until a person turns it on) and the
attribution link.

Privacy: folium embeds every property of the GeoJSON it is given, shown or not, so
each layer here gets only the properties the page shows (see `precinct_layer_data`).

Framework-free: the pages blueprint and the ``maps`` command call these functions.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import folium
import jinja2
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.plugins import Fullscreen, LocateControl

from . import __version__
from .assets import VENDOR_DIR, configure_folium, offline_map
from .i18n import LANG_NAMES, LANGS, catalog, t

__all__ = [
    "APP_DIR",
    "PALETTE",
    "api_docs_page",
    "home_page",
    "precinct_colours",
    "precinct_layer_data",
    "precinct_page",
    "roads_geojson",
    "service_worker_js",
    "shell_files",
]

APP_DIR: Final[Path] = VENDOR_DIR.parent / "app"
"""The pages' own script and style, served at ``<static_url>/app``."""

#: Twelve colours told apart on a map (Tableau 10 and two more), for neighbouring precincts.
PALETTE: Final[tuple[str, ...]] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#79706e", "#17becf", "#bcbd22",
)
OSM_TILES: Final[str] = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION: Final[str] = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
#: Above this many road segments only named roads are drawn (keeps big cities' pages small).
MAX_ROAD_SEGMENTS: Final[int] = 60_000

_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


# -- data for the layers ------------------------------------------------------------------
def roads_geojson(graph: Any, *, decimals: int = 5, max_segments: int = MAX_ROAD_SEGMENTS) -> dict[str, Any]:
    """The road network as one light GeoJSON Feature (a MultiLineString), for the base layer.

    Each street segment is drawn once (both directions of a two-way street are one
    line), segments are joined into longer lines, simplified within ``10**-decimals``
    degrees (about 1 m for 5 decimals) and rounded to that precision. When the city
    has more than ``max_segments`` segments only named roads are drawn.

    Parameters
    ----------
    graph : RoadGraph
        Usually ``city.walk``: it has every street and footway.
    decimals
        Coordinate decimals kept.
    max_segments
        Segment count above which unnamed roads are left out.
    """
    tail, head = np.asarray(graph.tail), np.asarray(graph.head)
    lo, hi = np.minimum(tail, head), np.maximum(tail, head)
    keep = lo != hi
    if int(keep.sum()) // 2 > max_segments:
        keep &= np.asarray(graph.name_id) > 0
    pairs = np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0)
    if len(pairs) == 0:
        return {"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString", "coordinates": []}}
    lon, lat = np.asarray(graph.lon, dtype=np.float64), np.asarray(graph.lat, dtype=np.float64)
    coords = np.stack([np.stack([lon[pairs[:, 0]], lat[pairs[:, 0]]], axis=1),
                       np.stack([lon[pairs[:, 1]], lat[pairs[:, 1]]], axis=1)], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(coords)))
    grid = 10.0 ** -decimals
    merged = shapely.set_precision(shapely.simplify(merged, grid), grid)
    parts = shapely.get_parts(merged)
    lines = [np.round(shapely.get_coordinates(p), decimals).tolist() for p in parts if not p.is_empty]
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "MultiLineString", "coordinates": [ln for ln in lines if len(ln) >= 2]}}


def precinct_colours(geometries: Sequence[Any], *, near_deg: float = 3e-4) -> list[str]:
    """One `PALETTE` colour per precinct; neighbours told apart.

    Up to twelve precincts each get their own colour. With more, colours are given
    greedily in input order so that precincts closer than ``near_deg`` degrees
    (about 30 m: derived precincts may leave slivers between them) differ; this
    holds whenever a precinct has fewer than twelve such neighbours.
    """
    n = len(geometries)
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    geoms = np.asarray(geometries, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=near_deg)
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(left.tolist(), right.tolist()):
        if a != b:
            neighbours.setdefault(a, set()).add(b)
    colour: list[int] = []
    for i in range(n):
        taken = {colour[j] for j in neighbours.get(i, ()) if j < i}
        free = [c for c in range(len(PALETTE)) if c not in taken]
        colour.append(free[0] if free else i % len(PALETTE))
    return [PALETTE[c] for c in colour]


def precinct_layer_data(collection: Mapping[str, Any], *, decimals: int = 5) -> dict[str, Any]:
    """The precinct FeatureCollection cut to what the page shows.

    Kept per precinct: ``id``, ``name``, ``source``; per inspector ``name``, ``rank``,
    ``phone``, ``reception_hours`` (the inspector card); the post's ``name`` and
    ``address``. Inspector ids, the post's id and coordinates (the post is its own
    marker layer) and anything else are dropped. Boundaries are drawn to
    ``10**-decimals`` degrees (about 1 m for 5), which keeps the page small.
    """
    grid = 10.0 ** -decimals
    features = []
    for f in collection["features"]:
        p = f["properties"]
        post = p.get("post")
        geometry = shapely.geometry.mapping(shapely.set_precision(shapely.geometry.shape(f["geometry"]), grid))
        features.append({
            "type": "Feature", "id": str(f.get("id", p["id"])), "geometry": geometry,
            "properties": {
                "id": str(p["id"]), "name": str(p["name"]), "source": str(p["source"]),
                "inspectors": [{k: str(i.get(k) or "") for k in ("name", "rank", "phone", "reception_hours")}
                               for i in p.get("inspectors") or []],
                "post": ({"name": str(post.get("name") or ""), "address": str(post.get("address") or "")}
                         if post else None),
            },
        })
    return {"type": "FeatureCollection", "features": features}


def _post_layer_data(collection: Mapping[str, Any]) -> dict[str, Any]:
    """Post markers: a point, the post name and its precinct id (to open the card)."""
    features = []
    for f in collection["features"]:
        post = f["properties"].get("post")
        if post and post.get("lat") is not None and post.get("lon") is not None:
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                round(float(post["lon"]), 6), round(float(post["lat"]), 6)]},
                "properties": {"name": str(post.get("name") or ""), "precinct": str(f["properties"]["id"])}})
    return {"type": "FeatureCollection", "features": features}


# -- page pieces ---------------------------------------------------------------------------
class _Page(Figure):
    """A folium figure whose ``<html>`` carries the page language."""

    _template = jinja2.Template(
        '<!DOCTYPE html>\n<html lang="{{ this.lang }}">\n<head>\n'
        "{% if this.title %}<title>{{ this.title }}</title>{% endif %}"
        "    {{ this.header.render(**kwargs) }}\n</head>\n<body>\n"
        "    {{ this.html.render(**kwargs) }}\n</body>\n"
        "<script>\n    {{ this.script.render(**kwargs) }}\n</script>\n</html>\n")

    def __init__(self, *, lang: str, title: str) -> None:
        super().__init__(title=html.escape(title))
        self.lang = lang


class _PageInit(MacroElement):
    """Hands the map and its layers to the page script (``static/app/precincts.js``)."""

    _template = jinja2.Template(
        "{% macro script(this, kwargs) %}\n"
        "GeoServicePage.init({{ this._parent.get_name() }}, {{ this.precincts.get_name() }}, "
        "{{ this.posts.get_name() }}, {{ this.osm.get_name() }});\n"
        "{% endmacro %}\n")

    def __init__(self, precincts: folium.GeoJson, posts: folium.GeoJson, osm: folium.TileLayer, *,
                 static_url: str) -> None:
        super().__init__()
        self._name = "GeoServicePageInit"
        self.precincts, self.posts, self.osm = precincts, posts, osm
        self.static_url = static_url

    def render(self, **kwargs: Any) -> None:
        """Link the page's own style and script after folium's (the map and its plugins
        render before this element and add theirs first), so the page's rules win."""
        header = self.get_root().header
        header.add_child(folium.CssLink(f"{self.static_url}/app/pages.css"), name="gs_css")
        header.add_child(folium.JavascriptLink(f"{self.static_url}/app/precincts.js"), name="gs_js")
        super().render(**kwargs)


def _json_script(element_id: str, value: Any) -> str:
    """A ``<script type="application/json">`` block (data, never executed); ``<`` escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


_PANEL = _ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.precincts_title }} · {{ city }}</h1>
    <nav class="gs-lang" aria-label="{{ t.language }}">
      {% for code, label in langs %}
      <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
         {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
      {% endfor %}
    </nav>
  </div>
  <form class="gs-search" id="gs-search" role="search" action="" method="get">
    <label class="gs-sr" for="gs-q">{{ t.search_label }}</label>
    <input id="gs-q" name="address" type="search" autocomplete="street-address" enterkeyhint="search"
           maxlength="200" placeholder="{{ t.search_placeholder }}">
    <button type="submit" id="gs-go">{{ t.search_button }}</button>
  </form>
  <div class="gs-status" id="gs-status" role="status" aria-live="polite"></div>
  <ul class="gs-candidates" id="gs-candidates" hidden></ul>
  {% if demo %}<p class="gs-demo">{{ t.demo_note }}</p>{% endif %}
</header>
<section class="gs-card" id="gs-card" aria-live="polite" hidden></section>
<details class="gs-legend" id="gs-legend">
  <summary>{{ t.legend }} ({{ items|length }})</summary>
  <ul>
    {% for it in items %}
    <li><button type="button" class="gs-legend-item" data-precinct="{{ it.id }}">
      <span class="gs-swatch{% if not it.official %} gs-derived{% endif %}" data-colour="{{ it.colour }}"></span>
      <span class="gs-legend-name">{{ it.name }}</span>
      <span class="gs-badge{% if not it.official %} gs-badge-derived{% endif %}">
        {{ t.official if it.official else t.derived }}</span>
    </button></li>
    {% endfor %}
  </ul>
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")


def _style(colour: str, official: bool) -> dict[str, Any]:
    style = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.22, "opacity": 0.9}
    if not official:
        style["dashArray"] = "6 4"
    return style


def precinct_page(city: Any, collection: Mapping[str, Any], *, lang: str, static_url: str = "/static",
                  api_url: str = "/api/v1", roads: Mapping[str, Any] | None = None,
                  register_service_worker: bool = True) -> str:
    """The precinct map: every precinct coloured, posts, roads, search box, inspector card.

    Parameters
    ----------
    city : CityBundle
        Only its manifest (name, bbox, attribution, demo flag) and, when ``roads`` is
        not given, ``city.walk`` for the road layer are used.
    collection
        The precinct FeatureCollection of `geo_service.lookup.Lookup.precincts_geojson`;
        it is cut to the shown properties by `precinct_layer_data`.
    lang
        ``kk``, ``ru`` or ``en``.
    static_url
        Where the static folder is served (``/static``; a relative path such as
        ``../geo_service/static`` for files opened from disk).
    api_url
        Base of the JSON API; the search box calls ``<api_url>/lookup?address=``.
    roads
        The road layer (`roads_geojson`), when the caller caches it.
    register_service_worker
        Let the page register ``/sw.js`` (off for files opened from disk).

    Notes
    -----
    Calls `geo_service.assets.configure_folium` with ``<static_url>/vendor``: the
    prefix is process-wide, so render pages for one ``static_url`` at a time.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    manifest = city.manifest
    name = str(manifest.get("city", ""))
    tr = catalog(lang)
    page = _Page(lang=lang, title=f"{tr['precincts_title']} · {name}")
    minlon, minlat, maxlon, maxlat = manifest["bbox"]
    m = offline_map([(minlat + maxlat) / 2, (minlon + maxlon) / 2], 13, control_scale=True, prefer_canvas=False)
    page.add_child(m)

    data = precinct_layer_data(collection)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    colours = precinct_colours(geoms) if geoms else []
    style_by_id = {f["id"]: _style(c, f["properties"]["source"] == "official")
                   for f, c in zip(data["features"], colours)}
    precincts = folium.GeoJson(data, name=tr["layer_precincts"],
                               style_function=lambda f: style_by_id.get(f["id"], _style(PALETTE[0], False)))
    precincts.add_to(m)
    road_data = roads if roads is not None else roads_geojson(city.walk)
    folium.GeoJson(road_data, name=tr["layer_roads"], interactive=False,
                   style_function=lambda _: {"color": "#8a9096", "weight": 1.2, "opacity": 0.75}).add_to(m)
    posts = folium.GeoJson(_post_layer_data(collection), name=tr["layer_posts"],
                           marker=folium.Marker(icon=folium.Icon(color="darkblue", prefix="fa", icon="shield-halved")))
    posts.add_to(m)
    osm = folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                           max_zoom=19)
    osm.add_to(m)
    LocateControl(strings={"title": t("nav_precincts", lang)}, flyTo=True).add_to(m)
    Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if geoms:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist()
        m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(_PageInit(precincts, posts, osm, static_url=static_url))

    items = [{"id": f["id"], "name": f["properties"]["name"], "colour": c,
              "official": f["properties"]["source"] == "official"} for f, c in zip(data["features"], colours)]
    attribution = str(manifest.get("attribution") or "© OpenStreetMap contributors")
    page.html.add_child(Element(_PANEL.render(
        t=tr, lang=lang, langs=[(c, LANG_NAMES[c]) for c in LANGS], city=name, items=items,
        demo=bool(manifest.get("demo")), attribution=attribution)), name="gs_panel", index=0)
    config = {"lang": lang, "api": api_url.rstrip("/"), "t": tr, "attribution": attribution,
              "sw": f"{_root_of(static_url)}sw.js" if register_service_worker else None}
    page.html.add_child(Element(_json_script("gs-config", config)), name="gs_config")
    return page.render()


def _root_of(static_url: str) -> str:
    """The app root for a static URL (``/static`` -> ``/``, ``/x/static`` -> ``/x/``)."""
    return re.sub(r"static/?$", "", static_url.rstrip("/") + "/") or "/"


# -- plain pages ----------------------------------------------------------------------------
_HOME = _ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.service_name }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
<script src="{{ static }}/app/sw-register.js" defer></script>
</head>
<body class="gs-plain">
<main class="gs-home">
  <nav class="gs-lang" aria-label="{{ t.language }}">
    {% for code, label in langs %}
    <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
       {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
    {% endfor %}
  </nav>
  <h1>{{ t.service_name }}</h1>
  <p>{{ t.home_intro }}</p>
  {% if city %}<p>{{ t.city }}: <strong>{{ city }}</strong></p>{% endif %}
  {% if demo %}<p class="gs-demo">{{ t.demo_note }}</p>{% endif %}
  <ul class="gs-links">
    <li><a class="gs-button" href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></li>
    <li><a class="gs-button gs-secondary" href="{{ api }}/docs?lang={{ lang }}">{{ t.nav_docs }}</a></li>
  </ul>
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</main>
</body>
</html>
""")

_DOCS = _ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.docs_title }}</title>
<link rel="stylesheet" href="{{ static }}/vendor/swagger-ui-dist/swagger-ui.css">
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<nav class="gs-docs-nav"><a href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a>
  <a href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></nav>
<div id="swagger-ui" data-spec="{{ spec }}"></div>
<script src="{{ static }}/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
<script src="{{ static }}/app/docs.js"></script>
</body>
</html>
""")


def home_page(*, lang: str, city: Mapping[str, Any] | None, static_url: str = "/static",
              api_url: str = "/api/v1") -> str:
    """The home page: what the service does and links to the pages.

    ``city`` is the loaded bundle's manifest, or None when no city is loaded.
    """
    static_url = static_url.rstrip("/")
    manifest = city or {}
    return _HOME.render(t=catalog(lang), lang=lang, langs=[(c, LANG_NAMES[c]) for c in LANGS],
                        static=static_url, root=_root_of(static_url), api=api_url.rstrip("/"),
                        city=manifest.get("city"), demo=bool(manifest.get("demo")),
                        attribution=str(manifest.get("attribution") or "© OpenStreetMap contributors"))


def api_docs_page(*, lang: str, spec_url: str, static_url: str = "/static") -> str:
    """Swagger UI (vendored ``swagger-ui-dist``) over the OpenAPI document at ``spec_url``."""
    static_url = static_url.rstrip("/")
    return _DOCS.render(t=catalog(lang), lang=lang, static=static_url, root=_root_of(static_url), spec=spec_url)


# -- offline shell ----------------------------------------------------------------------------
_SHELL_SUFFIXES: Final[frozenset[str]] = frozenset({".js", ".css", ".png", ".svg", ".woff2"})
#: Vendored folders the map pages never load (the docs page's Swagger UI is big and online-only).
_NOT_SHELL: Final[frozenset[str]] = frozenset({"swagger-ui-dist", "leaflet.heat", "leaflet.markercluster"})


def shell_files(static_url: str = "/static") -> list[str]:
    """URLs of the app shell the service worker stores on install.

    The map pages' vendored scripts, styles, images and ``woff2`` fonts, and the
    pages' own files, sorted.
    """
    static_url = static_url.rstrip("/")
    files: list[str] = []
    for path in sorted(VENDOR_DIR.rglob("*")):
        rel = path.relative_to(VENDOR_DIR)
        if path.is_file() and path.suffix in _SHELL_SUFFIXES and rel.parts[0] not in _NOT_SHELL:
            files.append(f"{static_url}/vendor/{rel.as_posix()}")
    files += [f"{static_url}/app/{p.name}" for p in sorted(APP_DIR.iterdir())
              if p.is_file() and p.suffix in (".js", ".css") and p.name != "sw.js"]
    return files


def service_worker_js(*, static_url: str = "/static", extra: Iterable[str] = ()) -> str:
    """The service worker: ``static/app/sw.js`` with the shell list and a version prepended.

    The version hashes the package version and the shell files' sizes and times, so
    a deploy with new assets replaces the old cache.
    """
    files = shell_files(static_url)
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(VENDOR_DIR.rglob("*")) + sorted(APP_DIR.iterdir()):
        if path.is_file():
            st = path.stat()
            digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    head = (f"const GS_VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
            f"const GS_SHELL = {json.dumps([*files, *extra])};\n")
    return head + (APP_DIR / "sw.js").read_text(encoding="utf-8")
