"""Pages people read: Folium maps and the small HTML pages around them. No computation.

Every page loads its scripts, styles and fonts from the app's own static folder
(``static_url``): the vendored files folium uses (see `geo_service.pages.assets`) and the
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
from branca.element import Figure, MacroElement
from folium.plugins import Fullscreen, HeatMap, LocateControl

from geo_service.pages.assets import VENDOR_DIR, LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import LANG_NAMES, LANGS, catalog, t
from geo_service.version import __version__

__all__ = [
    "APP_DIR",
    "PALETTE",
    "RoadIndex",
    "api_docs_page",
    "dashboard_page",
    "error_page",
    "home_page",
    "nav_links",
    "precinct_colours",
    "precinct_layer_data",
    "precinct_page",
    "public_precinct_page",
    "roads_geojson",
    "route_layer_data",
    "route_page",
    "service_worker_js",
    "shell_files",
    "siting_page",
    "trend_svg",
    "workload_layer_data",
    "workload_page",
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
        "    {{ this.header.render(**kwargs) }}\n</head>\n"
        "<body{% if this.body_class %} class=\"{{ this.body_class }}\"{% endif %}>\n"
        "    {{ this.html.render(**kwargs) }}\n</body>\n"
        "<script>\n    {{ this.script.render(**kwargs) }}\n</script>\n</html>\n")

    def __init__(self, *, lang: str, title: str, body_class: str = "") -> None:
        super().__init__(title=html.escape(title))
        self.lang = lang
        self.body_class = body_class


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
                  register_service_worker: bool = True, public_url: str | None = None) -> str:
    """The precinct map: every precinct coloured, posts, roads, search box, inspector card.

    Parameters
    ----------
    city : CityBundle
        Only its manifest (name, bbox, attribution, demo flag) and, when ``roads`` is
        not given, ``city.walk`` for the road layer are used.
    collection
        The precinct FeatureCollection of `geo_service.lookup.service.Lookup.precincts_geojson`;
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
    public_url
        Base of the residents' precinct pages (``/p/``): the inspector card links
        ``<public_url><precinct id>``; None (files opened from disk) shows no link.

    Notes
    -----
    Calls `geo_service.pages.assets.configure_folium` with ``<static_url>/vendor``: the
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
    page.html.add_child(LiteralHtml(_PANEL.render(
        t=tr, lang=lang, langs=[(c, LANG_NAMES[c]) for c in LANGS], city=name, items=items,
        demo=bool(manifest.get("demo")), attribution=attribution)), name="gs_panel", index=0)
    config = {"lang": lang, "api": api_url.rstrip("/"), "t": tr, "attribution": attribution,
              "public": public_url,
              "sw": f"{_root_of(static_url)}sw.js" if register_service_worker else None}
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")
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


# -- shared by the route and siting pages ----------------------------------------------------
class _ScriptInit(MacroElement):
    """Links the page's own style and script and hands the map and layers to ``<call>``."""

    _template = jinja2.Template(
        "{% macro script(this, kwargs) %}\n"
        "{{ this.call }}({{ this._parent.get_name() }}{% for name in this.layer_names() %}, {{ name }}"
        "{% endfor %});\n"
        "{% endmacro %}\n")

    def __init__(self, call: str, layers: Sequence[Any | None], *, static_url: str, script: str) -> None:
        super().__init__()
        self._name = "GeoServicePageInit"
        self.call, self.layers, self.static_url, self.script = call, list(layers), static_url, script

    def layer_names(self) -> list[str]:
        return [layer.get_name() if layer is not None else "null" for layer in self.layers]

    def render(self, **kwargs: Any) -> None:
        header = self.get_root().header
        header.add_child(folium.CssLink(f"{self.static_url}/app/pages.css"), name="gs_css")
        header.add_child(folium.JavascriptLink(f"{self.static_url}/app/{self.script}"), name="gs_js")
        super().render(**kwargs)


class RoadIndex:
    """The road layer's lines with a spatial index, to draw only the roads near a route.

    Built once per city from `roads_geojson` (the pages blueprint caches it).
    """

    def __init__(self, roads: Mapping[str, Any]) -> None:
        self.lines: list[Any] = list(roads["geometry"]["coordinates"])
        self.tree = shapely.STRtree([shapely.linestrings(ln) for ln in self.lines])

    def within(self, bbox: Sequence[float]) -> dict[str, Any]:
        """The roads crossing ``bbox`` [minlon, minlat, maxlon, maxlat] as one Feature."""
        hits = np.sort(self.tree.query(shapely.box(*bbox)))
        return {"type": "Feature", "properties": {},
                "geometry": {"type": "MultiLineString", "coordinates": [self.lines[i] for i in hits.tolist()]}}


def _bbox_of(points: Iterable[Sequence[float]], *, margin_deg: float) -> list[float]:
    """[minlon, minlat, maxlon, maxlat] of (lon, lat) points, widened by ``margin_deg``."""
    xy = np.asarray(list(points), dtype=np.float64).reshape(-1, 2)
    x0, y0 = xy.min(axis=0) - margin_deg
    x1, y1 = xy.max(axis=0) + margin_deg
    return [float(x0), float(y0), float(x1), float(y1)]


def _light(geometry: Mapping[str, Any], *, tolerance: float = 2e-5, decimals: int = 5) -> dict[str, Any]:
    """A GeoJSON geometry simplified within ``tolerance`` degrees and rounded (keeps pages small)."""
    grid = 10.0 ** -decimals
    geom = shapely.set_precision(shapely.simplify(shapely.geometry.shape(geometry), tolerance), grid)
    return shapely.geometry.mapping(geom)


def _lang_links() -> list[tuple[str, str]]:
    return [(c, LANG_NAMES[c]) for c in LANGS]


_LANG_NAV = """
    <nav class="gs-lang" aria-label="{{ t.language }}">
      {% for code, label in langs %}
      <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
         {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
      {% endfor %}
    </nav>
"""


# -- the route page -----------------------------------------------------------------------
def nav_links(lat: float, lon: float, *, mode: str = "walk") -> dict[str, str]:
    """Links that open the way to a point in a navigation app (tapped by a person, never loaded).

    ``geo`` is the ``geo:`` URI (Android offers the installed apps), ``2gis`` and
    ``yandex`` the 2GIS and Yandex Maps links (walking, or driving for ``drive``).
    """
    la, lo = f"{float(lat):.6f}", f"{float(lon):.6f}"
    rtt = "auto" if mode == "drive" else "pd"
    return {"geo": f"geo:{la},{lo}?q={la},{lo}", "2gis": f"https://2gis.kz/geo/{lo},{la}",
            "yandex": f"https://yandex.kz/maps/?rtext=~{la},{lo}&rtt={rtt}"}


def route_layer_data(plan: Mapping[str, Any], *, lang: str, decimals: int = 6) -> dict[str, Any]:
    """What the route page shows of a day plan (`geo_service.routes.day.DayPlan.to_dict`).

    Returns
    -------
    dict
        ``items``: every stop in visiting order (visits numbered from 1) with its kind,
        label, times and point; ``stops``: the visits as a FeatureCollection (feature id
        ``s<n>``, properties ``n`` and ``label`` only); ``route``: the legs' paths as one
        MultiLineString Feature without properties; ``unassigned``: labels and reason
        codes. Priorities, visit ids, windows and everything else are left out.
    """
    items: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    n = 0
    for stop in plan.get("stops") or []:
        kind = str(stop["kind"])
        number = None
        if kind == "visit":
            n += 1
            number = n
        label = str(stop.get("label") or "") or t(f"stop_{kind}", lang)
        lat, lon = round(float(stop["lat"]), decimals), round(float(stop["lon"]), decimals)
        items.append({"n": number, "kind": kind, "label": label, "lat": lat, "lon": lon,
                      "arrival": str(stop.get("arrival") or ""), "start": str(stop.get("start") or ""),
                      "departure": str(stop.get("departure") or "")})
        if number is not None:
            features.append({"type": "Feature", "id": f"s{number}", "geometry": {"type": "Point",
                             "coordinates": [lon, lat]}, "properties": {"n": number, "label": label}})
    lines = []
    for leg in plan.get("legs") or []:
        geom = leg.get("geometry") or {}
        if geom.get("type") == "LineString" and len(geom.get("coordinates") or []) >= 2:
            lines.append([[round(float(x), decimals), round(float(y), decimals)] for x, y in geom["coordinates"]])
    unassigned = [{"label": str(u.get("label") or "") or t("stop_visit", lang), "code": str(u.get("code") or "")}
                  for u in plan.get("unassigned") or []]
    return {"items": items, "stops": {"type": "FeatureCollection", "features": features},
            "route": {"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString",
                                                                         "coordinates": lines}},
            "unassigned": unassigned}


def _day(date: str, lang: str) -> str:
    """An ISO date as people write it: ``01.12.2026`` (kk, ru), ``2026-12-01`` (en)."""
    if lang != "en" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        y, mo, d = date.split("-")
        return f"{d}.{mo}.{y}"
    return date


_ROUTE_HEAD = _ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ title }}</h1>
""" + _LANG_NAV + """
  </div>
  <p class="gs-route-sum">{{ summary }}</p>
  <div class="gs-route-actions">
    <a class="gs-button" id="gs-gpx" href="{{ gpx }}" download>{{ t.gpx_download }}</a>
    <a class="gs-button gs-secondary" id="gs-sheet" href="{{ sheet }}" target="_blank" rel="noopener">{{ t.print_sheet }}</a>
  </div>
</header>
""")

_ROUTE_LIST = _ENV.from_string("""
<details class="gs-stops" id="gs-stops" open>
  <summary>{{ t.stops }} ({{ items|length }})</summary>
  <ol class="gs-stop-list">
    {% for it in items %}
    <li class="gs-stop-item gs-kind-{{ it.kind }}"{% if it.n %} id="gs-stop-{{ it.n }}"{% endif %}>
      <button type="button" class="gs-stop-go" data-lat="{{ it.lat }}" data-lon="{{ it.lon }}"
              {% if it.n %}data-stop="{{ it.n }}"{% endif %} aria-label="{{ t.show_on_map }}: {{ it.label }}">
        <span class="gs-num{% if not it.n %} gs-num-other{% endif %}">{{ it.n or "" }}</span>
        <span class="gs-stop-label">{{ it.label }}</span>
      </button>
      <p class="gs-times">
        {% if it.kind != "start" %}{{ t.time_arrive }} <b>{{ it.arrival }}</b>{% endif %}
        {% if it.kind not in ("start", "end") and it.start != it.arrival %} · {{ t.time_start }} <b>{{ it.start }}</b>{% endif %}
        {% if it.kind != "end" %}{% if it.kind != "start" %} · {% endif %}{{ t.time_leave }} <b>{{ it.departure }}</b>{% endif %}
      </p>
      {% if it.n and marks and it.n in marks %}{% set mk = marks[it.n] %}
      {% if mk.made %}<p class="gs-made" data-made="1">✓ {{ mk.made }}</p>
      <form class="gs-undo-form" method="post" action="{{ mk.undo }}">
        <button type="submit" class="gs-undo-btn">{{ t.undo_made }}</button></form>
      {% else %}<form class="gs-made-form" method="post" action="{{ mk.action }}">
        <button type="submit" class="gs-made-btn">{{ t.mark_made }}</button></form>{% endif %}
      {% endif %}
      {% if it.n %}
      <div class="gs-nav-links" role="group" aria-label="{{ t.nav_open }}">
        <a class="gs-nav gs-nav-geo" href="{{ it.nav.geo }}">{{ t.nav_geo }}</a>
        <a class="gs-nav gs-nav-2gis" href="{{ it.nav['2gis'] }}" target="_blank" rel="noopener noreferrer">{{ t.nav_2gis }}</a>
        <a class="gs-nav gs-nav-yandex" href="{{ it.nav.yandex }}" target="_blank" rel="noopener noreferrer">{{ t.nav_yandex }}</a>
      </div>
      {% endif %}
    </li>
    {% endfor %}
  </ol>
  {% if unassigned %}
  <h2 class="gs-card-sub">{{ t.unassigned }} ({{ unassigned|length }})</h2>
  <ul class="gs-unassigned">
    {% for u in unassigned %}<li>{{ u.label }} — {{ u.reason }}</li>{% endfor %}
  </ul>
  {% endif %}
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")


def route_page(city: Any, plan: Mapping[str, Any], *, lang: str, date: str, gpx_url: str, sheet_url: str,
               precinct: Mapping[str, Any] | None = None, post: Mapping[str, Any] | None = None,
               static_url: str = "/static", road_index: RoadIndex | None = None,
               register_service_worker: bool = True, done_url: str | None = None,
               made: Mapping[str, str] | None = None) -> str:
    """The inspector's route page for a phone: numbered stops, the path, the precinct, the post.

    Parameters
    ----------
    city : CityBundle
        Its manifest (attribution) and, without ``road_index``, ``city.walk`` for the roads.
    plan
        A day plan (`geo_service.routes.day.DayPlan.to_dict`); cut by `route_layer_data`.
    lang
        ``kk``, ``ru`` or ``en``.
    date
        The plan's day (ISO), shown in the title.
    gpx_url, sheet_url
        Where the GPX file and the printable sheet of this plan are served.
    precinct
        The precinct Feature (only its geometry is used: the boundary).
    post
        The post (``name``, ``lat``, ``lon``; nothing else is used).
    road_index
        The city's roads (`RoadIndex`); only those near the route are drawn.
    done_url, made
        With ``done_url`` (a prefix: ``<done_url><stop number>/done``), each visit gets a
        "made" button, a plain form POST (no script); ``made`` maps the numbers (as text) of
        stops already marked to the text shown instead (e.g. the time).
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    data = route_layer_data(plan, lang=lang)
    items = data["items"]
    marks: dict[int, dict[str, Any]] = {}
    if done_url is not None:  # forms name the stop's number, never the caller's visit id
        made = made or {}
        for it in items:
            if it["n"]:
                n = int(it["n"])
                marks[n] = {"action": f"{done_url}{n}/done?lang={lang}", "undo": f"{done_url}{n}/undo?lang={lang}",
                            "made": t("made_at", lang, time=made[str(n)]) if str(n) in made else None}
    mode = str(plan.get("mode") or "walk")
    for it in items:
        if it["n"]:
            it["nav"] = nav_links(it["lat"], it["lon"], mode="drive" if mode == "drive" else "walk")
    for u in data["unassigned"]:
        u["reason"] = t(f"reason_{u['code']}", lang) if f"reason_{u['code']}" in tr else ""

    title = t("route_title", lang, date=_day(date, lang))
    page = _Page(lang=lang, title=title, body_class="gs-route-page")
    points = [(it["lon"], it["lat"]) for it in items]
    points += [tuple(c) for ln in data["route"]["geometry"]["coordinates"] for c in ln]
    if post and post.get("lat") is not None:
        points.append((float(post["lon"]), float(post["lat"])))
    if not points:
        x0, y0, x1, y1 = city.manifest["bbox"]
        points = [(x0, y0), (x1, y1)]
    view = _bbox_of(points, margin_deg=0.0005)
    m = offline_map([(view[1] + view[3]) / 2, (view[0] + view[2]) / 2], 15, control_scale=True)
    page.add_child(m)

    around = _bbox_of(points, margin_deg=0.004)
    if precinct is not None and precinct.get("geometry"):
        pb = shapely.bounds(shapely.geometry.shape(precinct["geometry"])).tolist()
        around = [min(around[0], pb[0]), min(around[1], pb[1]), max(around[2], pb[2]), max(around[3], pb[3])]
    index = road_index if road_index is not None else RoadIndex(roads_geojson(city.walk))
    folium.GeoJson(index.within(around), name=tr["layer_roads"], interactive=False,
                   style_function=lambda _: {"color": "#8a9096", "weight": 1.2, "opacity": 0.75}).add_to(m)
    if precinct is not None and precinct.get("geometry"):
        boundary = {"type": "Feature", "properties": {}, "geometry": _light(precinct["geometry"], tolerance=0)}
        folium.GeoJson(boundary, name=tr["layer_precinct"], interactive=False,
                       style_function=lambda _: {"color": "#6a3d9a", "weight": 3, "dashArray": "8 6",
                                                 "fillColor": "#6a3d9a", "fillOpacity": 0.05}).add_to(m)
    route = folium.GeoJson(data["route"], name=tr["layer_route"], interactive=False,
                           style_function=lambda _: {"color": "#0b57d0", "weight": 6, "opacity": 0.85,
                                                     "lineJoin": "round"})
    route.add_to(m)
    post_layer = None
    if post and post.get("lat") is not None and post.get("lon") is not None:
        post_layer = folium.GeoJson(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
                "name": str(post.get("name") or "")}, "geometry": {"type": "Point", "coordinates": [
                    round(float(post["lon"]), 6), round(float(post["lat"]), 6)]}}]},
            name=tr["post"], marker=folium.Marker(icon=folium.Icon(color="darkblue", prefix="fa", icon="shield-halved")))
        post_layer.add_to(m)
    # One marker per visit; the number is the feature's own style (a digit string, nothing else).
    icon = folium.DivIcon(html="", icon_size=(36, 36), icon_anchor=(18, 18), class_name="gs-stop-icon")
    stops = folium.GeoJson(data["stops"], name=tr["layer_stops"], marker=folium.Marker(icon=icon),
                           style_function=lambda f: {"html": str(int(f["properties"]["n"]))})
    stops.add_to(m)
    osm = folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                           max_zoom=19)
    osm.add_to(m)
    LocateControl(strings={"title": tr["show_on_map"]}, flyTo=True, keepCurrentZoomLevel=True).add_to(m)
    Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    m.add_child(_ScriptInit("GeoServiceRoute.init", [stops, route, post_layer, osm], static_url=static_url,
                            script="route.js"))

    totals = plan.get("totals") or {}
    first = next((it for it in items if it["kind"] == "start"), items[0] if items else None)
    last = next((it for it in reversed(items) if it["kind"] == "end"), items[-1] if items else None)
    summary = t("route_summary", lang, visits=sum(1 for it in items if it["n"]),
                km=f"{float(totals.get('length_m') or 0) / 1000:.1f}",
                start=first["departure"] if first else "", end=last["arrival"] if last else "")
    attribution = str(city.manifest.get("attribution") or "© OpenStreetMap contributors")
    page.html.add_child(LiteralHtml(_ROUTE_HEAD.render(t=tr, lang=lang, langs=_lang_links(), title=title,
                                                   summary=summary, gpx=gpx_url, sheet=sheet_url)),
                        name="gs_panel", index=0)
    page.html.add_child(LiteralHtml(_ROUTE_LIST.render(t=tr, items=items, unassigned=data["unassigned"],
                                                   attribution=attribution, marks=marks)), name="gs_stops")
    config = {"lang": lang, "t": {k: tr[k] for k in ("show_on_map", "post", "stop", "mark_made", "undo_made",
                                                     "marks_refused", "marks_forget")}, "attribution": attribution,
              "sw": f"{_root_of(static_url)}sw.js" if register_service_worker else None}
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")
    return page.render()


# -- the siting page ------------------------------------------------------------------------
SITE_STYLES: Final[dict[str, dict[str, Any]]] = {
    "existing": {"color": "#1f4e8c", "weight": 1.5, "fillColor": "#4e79a7", "fillOpacity": 0.18},
    "proposed": {"color": "#1d7a35", "weight": 2, "fillColor": "#59a14f", "fillOpacity": 0.22},
}
_SITE_ICONS: Final[dict[str, dict[str, str]]] = {
    "existing": {"markerColor": "darkblue", "icon": "shield-halved"},
    "proposed": {"markerColor": "green", "icon": "plus"},
}

_SITING_PANEL = _ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.siting_title }}</h1>
""" + _LANG_NAV + """
  </div>
  <p class="gs-route-sum">{{ params }}</p>
  {% if coverage %}<p class="gs-coverage"><b>{{ coverage }}</b></p>{% endif %}
</header>
<details class="gs-stops gs-siting" id="gs-siting" open>
  <summary>{{ t.marginal_title }}</summary>
  <ul class="gs-key">
    <li><span class="gs-swatch" data-colour="{{ colours.existing }}"></span>{{ t.existing_posts }} ({{ n_existing }})</li>
    <li><span class="gs-swatch" data-colour="{{ colours.proposed }}"></span>{{ t.proposed_posts }} ({{ n_proposed }})</li>
    <li><span class="gs-swatch gs-swatch-area"></span>{{ areas_label }}</li>
    {% if heat %}<li><span class="gs-swatch gs-swatch-heat"></span>{{ t.uncovered_demand }}</li>{% endif %}
  </ul>
  {% if rows %}
  <table class="gs-marginal" id="gs-marginal">
    <thead><tr><th scope="col">p</th><th scope="col">{{ t.col_site }}</th>
      <th scope="col">{{ value_label }}</th><th scope="col">{{ gain_label }}</th></tr></thead>
    <tbody>
      {% for r in rows %}
      <tr><td>{{ r.p }}</td><td>{% for s in r.sites %}{% if s.lat is not none %}<button type="button" class="gs-site-go"
          data-lat="{{ s.lat }}" data-lon="{{ s.lon }}">{{ s.label|replace(",", ",\u200b") }}</button>{% else %}{{ s.label }}{% endif %}{% endfor %}</td>
        <td class="gs-num-cell">{{ r.value }}</td><td class="gs-num-cell">{{ r.gain }}</td></tr>
      {% endfor %}
    </tbody>
  </table>
  {% else %}<p class="gs-note">{{ t.no_marginal }}</p>{% endif %}
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")


def siting_page(city: Any, result: Mapping[str, Any], areas: Sequence[Mapping[str, Any]], *, lang: str,
                static_url: str = "/static", roads: Mapping[str, Any] | None = None,
                register_service_worker: bool = True) -> str:
    """The planner's siting page: existing and proposed posts, their service areas,
    uncovered demand as heat, and the marginal-gain table.

    Parameters
    ----------
    result
        A kept siting result (`geo_service.web.views.siting.run_siting`): ``chosen``, ``existing``,
        ``coverage``, ``uncovered``, ``marginal``, ``request``; other keys are not used.
    areas
        One `geo_service.network.reach.isochrone` Feature per site, existing first then chosen
        (the order of ``existing + chosen``).
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    page = _Page(lang=lang, title=f"{tr['siting_title']} · {city.manifest.get('city', '')}",
                 body_class="gs-siting-page")
    request = result.get("request") or {}
    minutes = float(request.get("minutes") or (float(result.get("service_time") or 0) / 60))
    sites = [("existing", s) for s in result.get("existing") or []] + \
            [("proposed", s) for s in result.get("chosen") or []]
    site_features, area_features, points = [], [], []
    for k, ((kind, s), area) in enumerate(zip(sites, [*areas, *([None] * len(sites))])):
        label = str(s.get("label") or "")
        if s.get("lat") is None:
            continue
        lat, lon = round(float(s["lat"]), 6), round(float(s["lon"]), 6)
        points.append((lon, lat))
        site_features.append({"type": "Feature", "id": f"p{k}", "properties": {"kind": kind, "label": label},
                              "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        if area is not None:
            area_features.append({"type": "Feature", "id": f"a{k}", "properties": {"kind": kind},
                                  "geometry": _light(area["geometry"])})
    for f in area_features:
        points += [tuple(c) for c in shapely.get_coordinates(shapely.geometry.shape(f["geometry"])).tolist()[::20]]
    if not points:
        x0, y0, x1, y1 = city.manifest["bbox"]
        points = [(x0, y0), (x1, y1)]
    view = _bbox_of(points, margin_deg=0.001)
    m = offline_map([(view[1] + view[3]) / 2, (view[0] + view[2]) / 2], 13, control_scale=True)
    page.add_child(m)
    road_data = roads if roads is not None else roads_geojson(city.walk)
    folium.GeoJson(road_data, name=tr["layer_roads"], interactive=False,
                   style_function=lambda _: {"color": "#8a9096", "weight": 1, "opacity": 0.6}).add_to(m)
    area_layer = None
    if area_features:
        area_layer = folium.GeoJson({"type": "FeatureCollection", "features": area_features},
                                    name=t("service_areas", lang, minutes=f"{minutes:g}"), interactive=False,
                                    style_function=lambda f: SITE_STYLES[f["properties"]["kind"]])
        area_layer.add_to(m)
    uncovered = (result.get("uncovered") or {}).get("points") or []
    heat = bool(uncovered)
    if heat:
        top = max(float(p[2]) for p in uncovered) or 1.0
        HeatMap([[float(p[0]), float(p[1]), round(float(p[2]) / top, 3)] for p in uncovered],
                name=tr["uncovered_demand"], radius=18, blur=14, min_opacity=0.35, max_zoom=16).add_to(m)
    site_layer = folium.GeoJson({"type": "FeatureCollection", "features": site_features},
                                name=f"{tr['existing_posts']} / {tr['proposed_posts']}",
                                marker=folium.Marker(icon=folium.Icon(color="darkblue", prefix="fa",
                                                                      icon="shield-halved")),
                                style_function=lambda f: _SITE_ICONS[f["properties"]["kind"]])
    site_layer.add_to(m)
    osm = folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                           max_zoom=19)
    osm.add_to(m)
    Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    m.add_child(_ScriptInit("GeoServiceSiting.init", [site_layer, area_layer, osm], static_url=static_url,
                            script="siting.js"))

    by_label = {str(s.get("label") or ""): s for _, s in sites}
    marginal = result.get("marginal") or {}
    share = marginal.get("measure", "coverage_share") == "coverage_share"
    rows = []
    for step in marginal.get("steps") or []:
        value, gain = float(step.get("value") or 0), float(step.get("gain") or 0)
        rows.append({
            "p": int(step.get("p") or 0),
            "sites": [{"label": str(lb), "lat": by_label.get(str(lb), {}).get("lat"),
                       "lon": by_label.get(str(lb), {}).get("lon")} for lb in step.get("sites") or []],
            "value": f"{value * 100:.1f} %" if share else f"{value / 60:.1f}",
            "gain": f"{gain * 100:+.1f}" if share else f"{gain / 60:+.1f}",
        })
    cov = result.get("coverage")
    coverage = (t("coverage", lang, before=f"{cov['before']['share'] * 100:.1f} %",
                  after=f"{cov['after']['share'] * 100:.1f} %") if cov else "")
    mode = str(request.get("mode") or result.get("mode") or "walk")
    params = t("siting_params", lang, model=str(result.get("model", "")).upper(), minutes=f"{minutes:g}",
               mode=t(f"mode_{'drive' if mode == 'drive' else 'walk'}", lang))
    attribution = str(city.manifest.get("attribution") or "© OpenStreetMap contributors")
    page.html.add_child(LiteralHtml(_SITING_PANEL.render(
        t=tr, lang=lang, langs=_lang_links(), params=params, coverage=coverage, rows=rows, heat=heat,
        value_label=tr["col_value"] if share else tr["col_value_time"],
        gain_label=tr["col_gain"] if share else tr["col_gain_time"],
        areas_label=t("service_areas", lang, minutes=f"{minutes:g}"),
        colours={k: v["fillColor"] for k, v in SITE_STYLES.items()}, attribution=attribution,
        n_existing=sum(1 for k, _ in sites if k == "existing"), n_proposed=sum(1 for k, _ in sites if k == "proposed"),
    )), name="gs_panel", index=0)
    config = {"lang": lang, "t": {}, "attribution": attribution,
              "sw": f"{_root_of(static_url)}sw.js" if register_service_worker else None}
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")
    return page.render()


# -- error page ---------------------------------------------------------------------------------
_ERROR = _ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.err_page_title }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<main class="gs-home gs-error-page">
""" + _LANG_NAV + """
  <h1>{{ t.err_page_title }}</h1>
  <p class="gs-error-text" role="alert">{{ message }}</p>
  <ul class="gs-links"><li><a class="gs-button gs-secondary" href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a></li></ul>
</main>
</body>
</html>
""")


def error_page(*, lang: str, message_key: str, static_url: str = "/static") -> str:
    """A readable error page (an expired link, another inspector's plan, ...) in ``lang``."""
    static_url = static_url.rstrip("/")
    return _ERROR.render(t=catalog(lang), lang=lang, langs=_lang_links(), static=static_url,
                         root=_root_of(static_url), message=t(message_key, lang))


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


# -- number formats ---------------------------------------------------------------------------
def _fmt(value: Any, decimals: int, lang: str) -> str:
    """A number as people of ``lang`` write it (``1 234,5`` in kk and ru, ``1,234.5`` in en);
    ``—`` for a missing value."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if not np.isfinite(x):
        return "—"
    text = f"{x:,.{decimals}f}"
    if lang != "en":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _period_text(period: Sequence[Any], lang: str) -> str:
    """``01.10.2026 – 31.10.2026`` (kk, ru) or ``2026-10-01 – 2026-10-31`` (en) for [start, end]."""
    return " – ".join(_day(str(d)[:10], lang) for d in period)


def _tel(phone: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


# -- the workload page -------------------------------------------------------------------------
#: Indicators the selector offers (the first is the default), and how many decimals each shows.
WORKLOAD_CHOICES: Final[tuple[str, ...]] = (
    "workload_per_inspector", "residents", "area_km2", "walk_mean_min", "appeals")
WORKLOAD_DECIMALS: Final[dict[str, int]] = {
    "workload_per_inspector": 2, "workload_index": 2, "inspectors": 0, "residents": 0, "addresses": 0,
    "area_km2": 2, "road_km": 1, "walk_mean_min": 1, "walk_p90_min": 1, "appeals": 0}
#: Sequential classes of the choropleth (ColorBrewer YlOrRd, 5 classes), low to high.
WORKLOAD_COLOURS: Final[tuple[str, ...]] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


def _number(value: Any, decimals: int) -> float | int | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(x):
        return None
    return round(x) if decimals == 0 else round(x, decimals)


def workload_layer_data(precincts: Any, rows: Sequence[Mapping[str, Any]], *,
                        decimals: int = 5) -> dict[str, Any]:
    """The precincts with the indicators the workload page shows, and nothing else.

    Parameters
    ----------
    precincts : DataFrame
        ``city.precincts`` (``precinct_id``, ``geometry``; other columns are not used).
    rows
        One mapping per precinct (``precinct_id``, ``name`` and the `WORKLOAD_DECIMALS`
        indicators; a missing one is None).

    Returns
    -------
    dict
        A FeatureCollection: feature id the precinct id; properties ``id``, ``name`` and
        the `WORKLOAD_DECIMALS` keys, rounded.
    """
    by_id = {str(r["precinct_id"]): r for r in rows}
    features = []
    for pid, geom in zip(precincts["precinct_id"].astype(str), precincts["geometry"]):
        r = by_id.get(pid)
        if r is None:
            continue
        props: dict[str, Any] = {"id": pid, "name": str(r.get("name") or pid)}
        props.update({k: _number(r.get(k), d) for k, d in WORKLOAD_DECIMALS.items()})
        features.append({"type": "Feature", "id": pid, "properties": props,
                         "geometry": _light(shapely.geometry.mapping(geom), tolerance=0, decimals=decimals)})
    return {"type": "FeatureCollection", "features": features}


_WORKLOAD_PANEL = _ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.workload_title }} · {{ city }}</h1>
""" + _LANG_NAV + """
  </div>
  <p class="gs-route-sum" id="gs-summary">{{ summary }}</p>
  <label class="gs-select-label" for="gs-indicator">{{ t.indicator }}</label>
  <select id="gs-indicator" class="gs-select">
    {% for c in choices %}<option value="{{ c.key }}"{% if loop.first %} selected{% endif %}>{{ c.label }}</option>{% endfor %}
  </select>
  <div class="gs-scale" id="gs-scale" aria-live="polite"><span class="gs-sr">{{ t.scale }}</span>
    <ul id="gs-scale-items"></ul></div>
  <p class="gs-demo">{{ note }}</p>
</header>
<section class="gs-card" id="gs-card" aria-live="polite" hidden></section>
<details class="gs-stops gs-workload" id="gs-workload" open>
  <summary>{{ t.workload_table }} ({{ rows|length }})</summary>
  <table class="gs-marginal gs-wl-table" id="gs-wl-table">
    <thead><tr><th scope="col">#</th><th scope="col">{{ t.col_precinct }}</th>
      {% for c in columns %}<th scope="col" class="gs-num-cell" title="{{ c.title }}">{{ c.label }}</th>{% endfor %}</tr></thead>
    <tbody>
      {% for r in rows %}
      <tr data-precinct="{{ r.id }}"><td>{{ loop.index }}</td>
        <td><button type="button" class="gs-wl-go" data-precinct="{{ r.id }}">{{ r.name }}</button></td>
        {% for v in r["values"] %}<td class="gs-num-cell">{{ v }}</td>{% endfor %}</tr>
      {% endfor %}
    </tbody>
  </table>
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")


def workload_page(city: Any, rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], *, lang: str,
                  period: Sequence[Any], static_url: str = "/static", roads: Mapping[str, Any] | None = None,
                  register_service_worker: bool = True) -> str:
    """The planner's workload page: a precinct choropleth of an indicator chosen with a
    selector (with its scale), the indicator card of a clicked precinct, the table of
    precincts sorted by the workload index per inspector, and the imbalance summary.

    Parameters
    ----------
    city : CityBundle
        Its manifest, ``precincts`` (geometry) and, without ``roads``, ``city.walk``.
    rows
        One mapping per precinct (`geo_service.workload.indicators.indicators` rows with ``appeals``
        added); only ``precinct_id``, ``name`` and the `WORKLOAD_DECIMALS` keys are used.
    summary
        `geo_service.workload.indicators.summary` of ``workload_per_inspector`` (``max_min_ratio``, ``gini``).
    period
        [first, last] day of the appeals counted.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    name = str(city.manifest.get("city", ""))
    page = _Page(lang=lang, title=f"{tr['workload_title']} · {name}", body_class="gs-workload-page")
    data = workload_layer_data(city.precincts, rows)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    if geoms:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist()
    else:
        x0, y0, x1, y1 = city.manifest["bbox"]
    m = offline_map([(y0 + y1) / 2, (x0 + x1) / 2], 13, control_scale=True)
    page.add_child(m)
    road_data = roads if roads is not None else roads_geojson(city.walk)
    folium.GeoJson(road_data, name=tr["layer_roads"], interactive=False,
                   style_function=lambda _: {"color": "#8a9096", "weight": 1, "opacity": 0.6}).add_to(m)
    # Coloured by the page script (the indicator is chosen in the page); grey until then.
    precincts = folium.GeoJson(data, name=tr["layer_precincts"],
                               style_function=lambda _: {"color": "#555555", "weight": 1.5, "fillColor": "#d0d4d8",
                                                         "fillOpacity": 0.7})
    precincts.add_to(m)
    osm = folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                           max_zoom=19)
    osm.add_to(m)
    Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(_ScriptInit("GeoServiceWorkload.init", [precincts, osm], static_url=static_url, script="workload.js"))

    table_keys = ("workload_per_inspector", "residents", "area_km2", "walk_mean_min", "appeals")
    short = {"workload_per_inspector": "col_index", "residents": "col_residents", "area_km2": "col_area",
             "walk_mean_min": "col_walk", "appeals": "col_appeals"}
    ordered = sorted(data["features"], key=lambda f: -(f["properties"]["workload_per_inspector"] or -1e300))
    table_rows = [{"id": f["id"], "name": f["properties"]["name"],
                   "values": [_fmt(f["properties"][k], WORKLOAD_DECIMALS[k], lang) for k in table_keys]}
                  for f in ordered]
    period_text = _period_text(period, lang)
    text = t("workload_summary", lang, ratio=_fmt(summary.get("max_min_ratio"), 2, lang),
             gini=_fmt(summary.get("gini"), 3, lang))
    attribution = str(city.manifest.get("attribution") or "© OpenStreetMap contributors")
    page.html.add_child(LiteralHtml(_WORKLOAD_PANEL.render(
        t=tr, lang=lang, langs=_lang_links(), city=name, summary=text, rows=table_rows,
        note=t("workload_note", lang, period=period_text), attribution=attribution,
        choices=[{"key": k, "label": tr[f"ind_{k}"]} for k in WORKLOAD_CHOICES],
        columns=[{"key": k, "label": tr[short[k]], "title": tr[f"ind_{k}"]} for k in table_keys],
    )), name="gs_panel", index=0)
    config = {"lang": lang, "attribution": attribution, "colours": list(WORKLOAD_COLOURS),
              "indicators": [{"key": k, "label": tr[f"ind_{k}"], "decimals": d} for k, d in WORKLOAD_DECIMALS.items()],
              "t": {k: tr[k] for k in ("card_close", "no_data")},
              "sw": f"{_root_of(static_url)}sw.js" if register_service_worker else None}
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")
    return page.render()


# -- the public precinct page -----------------------------------------------------------------
_PUBLIC_HEAD = _ENV.from_string("""
<header class="gs-pub-head">
  <div class="gs-head">
    <p class="gs-pub-kicker">{{ t.pub_kicker }}{% if city %} · {{ city }}{% endif %}</p>
""" + _LANG_NAV + """
  </div>
  <h1 class="gs-pub-title">{{ name }}</h1>
  <button type="button" class="gs-button gs-print" id="gs-print">{{ t.print }}</button>
</header>
""")

_PUBLIC_BODY = _ENV.from_string("""
<main class="gs-pub-body">
  <section class="gs-pub-section" id="gs-pub-inspectors">
    <h2 class="gs-card-sub">{{ t.pub_inspectors }}</h2>
    {% for ins in inspectors %}
    <div class="gs-pub-person">
      <p class="gs-pub-name">{{ ins.name }}</p>
      <dl class="gs-facts">
        {% if ins.rank %}<dt>{{ t.rank }}</dt><dd>{{ ins.rank }}</dd>{% endif %}
        {% if ins.phone %}<dt>{{ t.phone }}</dt><dd><a class="gs-tel" href="{{ ins.tel }}">{{ ins.phone }}</a></dd>{% endif %}
        {% if ins.reception_hours %}<dt>{{ t.reception_hours }}</dt><dd>{{ ins.reception_hours }}</dd>{% endif %}
      </dl>
    </div>
    {% else %}<p class="gs-note">{{ t.no_inspector }}</p>{% endfor %}
  </section>
  <section class="gs-pub-section" id="gs-pub-post">
    <h2 class="gs-card-sub">{{ t.post }}</h2>
    {% if post %}<p class="gs-pub-name">{{ post.name }}</p>{% if post.address %}<p class="gs-pub-address">{{ post.address }}</p>{% endif %}
    {% else %}<p class="gs-note">{{ t.no_post }}</p>{% endif %}
  </section>
  <section class="gs-pub-section" id="gs-pub-figures">
    <h2 class="gs-card-sub">{{ figures_title }}</h2>
    <dl class="gs-figures">
      {% for f in figures %}<div class="gs-figure"><dt>{{ f.label }}</dt><dd>{{ f.value }}</dd></div>{% endfor %}
    </dl>
    {% if not received %}<p class="gs-note">{{ t.pub_no_figures }}</p>{% endif %}
  </section>
  <footer class="gs-pub-foot">
    <p>{{ generated }}</p>
    <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
    <p class="gs-no-print"><a href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></p>
  </footer>
</main>
""")


def public_precinct_page(city: Any, info: Mapping[str, Any], precinct: Mapping[str, Any],
                         figures: Mapping[str, Any], *, lang: str, period: Sequence[Any], generated: str,
                         static_url: str = "/static", road_index: RoadIndex | None = None) -> str:
    """The residents' page of one precinct (open reporting; printable for a residents' meeting).

    Parameters
    ----------
    info
        `geo_service.lookup.service.Lookup.precinct_info`: the precinct's ``name``; per inspector
        ``name``, ``rank``, ``phone``, ``reception_hours``; the post's ``name``, ``address``,
        ``lat``, ``lon``. Nothing else is used (no ids).
    precinct
        The precinct Feature (only its geometry is used).
    figures
        Last month's ``received``, ``closed``, ``first_contact_median_h`` (None without
        contacts) and ``visits``.
    period
        [first, last] day of the figures.
    generated
        The day the page was made (ISO), printed at the foot.
    road_index
        The city's roads (`RoadIndex`); only those around the precinct are drawn.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    name = str(info["precinct"]["name"])
    page = _Page(lang=lang, title=f"{name} · {tr['pub_kicker']}", body_class="gs-public-page")
    geometry = _light(precinct["geometry"], tolerance=0)
    x0, y0, x1, y1 = shapely.bounds(shapely.geometry.shape(geometry)).tolist()
    post = info.get("post")
    if post and post.get("lat") is not None:
        x0, y0 = min(x0, float(post["lon"])), min(y0, float(post["lat"]))
        x1, y1 = max(x1, float(post["lon"])), max(y1, float(post["lat"]))
    m = offline_map([(y0 + y1) / 2, (x0 + x1) / 2], 14, control_scale=True)
    page.add_child(m)
    index = road_index if road_index is not None else RoadIndex(roads_geojson(city.walk))
    folium.GeoJson(index.within([x0 - 0.003, y0 - 0.003, x1 + 0.003, y1 + 0.003]), name=tr["layer_roads"],
                   interactive=False, style_function=lambda _: {"color": "#8a9096", "weight": 1, "opacity": 0.7}).add_to(m)
    boundary = folium.GeoJson({"type": "Feature", "properties": {}, "geometry": geometry}, name=tr["layer_precinct"],
                              interactive=False, style_function=lambda _: {"color": "#0b57d0", "weight": 3,
                                                                            "fillColor": "#0b57d0", "fillOpacity": 0.12})
    boundary.add_to(m)
    post_layer = None
    if post and post.get("lat") is not None and post.get("lon") is not None:
        post_layer = folium.GeoJson(
            {"type": "Feature", "properties": {"name": str(post.get("name") or "")}, "geometry": {
                "type": "Point", "coordinates": [round(float(post["lon"]), 6), round(float(post["lat"]), 6)]}},
            name=tr["post"], marker=folium.Marker(icon=folium.Icon(color="darkblue", prefix="fa", icon="shield-halved")))
        post_layer.add_to(m)
    osm = folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                           max_zoom=19)
    osm.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(_ScriptInit("GeoServicePublic.init", [boundary, post_layer, osm], static_url=static_url,
                            script="public.js"))

    inspectors = [{"name": str(i.get("name") or ""), "rank": str(i.get("rank") or ""),
                   "phone": str(i.get("phone") or ""), "tel": _tel(str(i.get("phone") or "")),
                   "reception_hours": str(i.get("reception_hours") or "")} for i in info.get("inspectors") or []]
    median = figures.get("first_contact_median_h")
    rows = [
        {"label": tr["fig_received"], "value": _fmt(figures.get("received") or 0, 0, lang)},
        {"label": tr["fig_closed"], "value": _fmt(figures.get("closed") or 0, 0, lang)},
        {"label": tr["fig_first_contact"],
         "value": t("hours", lang, value=_fmt(median, 1, lang)) if _number(median, 1) is not None else "—"},
        {"label": tr["fig_visits"], "value": _fmt(figures.get("visits"), 0, lang)},  # — until visits are recorded
    ]
    attribution = str(city.manifest.get("attribution") or "© OpenStreetMap contributors")
    page.html.add_child(LiteralHtml(_PUBLIC_HEAD.render(t=tr, lang=lang, langs=_lang_links(), name=name,
                                                    city=str(city.manifest.get("city") or ""))),
                        name="gs_head", index=0)
    page.html.add_child(LiteralHtml(_PUBLIC_BODY.render(
        t=tr, lang=lang, inspectors=inspectors,
        post={"name": str(post.get("name") or ""), "address": str(post.get("address") or "")} if post else None,
        figures=rows, received=int(figures.get("received") or 0),
        figures_title=t("pub_figures", lang, period=_period_text(period, lang)),
        generated=t("pub_generated", lang, date=_day(generated, lang)), attribution=attribution,
        root=_root_of(static_url))), name="gs_body")
    config = {"lang": lang, "attribution": attribution, "t": {}, "sw": None}
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")
    return page.render()



# -- the reform dashboard ---------------------------------------------------------------------
#: Size of a trend chart's drawing (SVG user units; the chart scales to the page width).
CHART_W: Final[int] = 640
CHART_H: Final[int] = 220
_CHART_PAD: Final[tuple[int, int, int, int]] = (16, 40, 40, 56)  # top, right, bottom, left


def _nice_top(vmax: float, *, whole: bool) -> float:
    """The y axis' top: four equal steps of 1, 2, 2.5 or 5 times a power of ten (whole
    numbers when ``whole``) reaching at least ``vmax``."""
    raw = max(vmax, 1e-9) / 4
    mag = 10.0 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-12))
    if whole:
        step = max(1.0, float(np.ceil(step)))
    return 4 * float(step)


def trend_svg(points: Sequence[tuple[str, float]], *, chart_id: str, title: str, decimals: int, lang: str,
              empty: str, unit: str = "") -> str:
    """A line chart as inline SVG markup (no script, no chart library): one ``circle.gs-pt``
    per point, each with a ``<title>`` tooltip ``label: value``; the y axis starts at 0.

    Parameters
    ----------
    points
        ``(label, value)`` in time order (labels such as ``2026-01``).
    chart_id
        The ``id`` of the ``<svg>``.
    title
        The chart's accessible name.
    empty
        Text shown (and no points drawn) when there are no points.
    unit
        Appended to values in the tooltips.
    """
    esc = html.escape
    top, right, bottom, left = _CHART_PAD
    w, h = CHART_W - left - right, CHART_H - top - bottom
    head = (f'<svg id="{esc(chart_id)}" class="gs-chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" '
            f'aria-labelledby="{esc(chart_id)}-t" '
            f'preserveAspectRatio="xMidYMid meet"><title id="{esc(chart_id)}-t">{esc(title)}</title>')
    axis = (f'<line class="gs-axis" x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}"/>'
            f'<line class="gs-axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + h}"/>')
    values = [float(v) for _, v in points if v is not None and np.isfinite(float(v))]
    if not points or not values:
        return (head + axis + f'<text class="gs-chart-empty" x="{left + w / 2:.0f}" y="{top + h / 2:.0f}" '
                f'text-anchor="middle">{esc(empty)}</text></svg>')
    vmax = _nice_top(max(max(values), 0.0), whole=decimals == 0)
    n = len(points)

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else w * i / (n - 1))

    def y(v: float) -> float:
        return top + h - h * v / vmax

    coords = [(x(i), y(float(v))) for i, (_, v) in enumerate(points)]
    grid = "".join(
        f'<line class="gs-grid" x1="{left}" y1="{y(vmax * k / 4):.1f}" x2="{left + w}" y2="{y(vmax * k / 4):.1f}"/>'
        f'<text class="gs-tick" x="{left - 6}" y="{y(vmax * k / 4) + 4:.1f}" text-anchor="end">'
        f'{esc(_fmt(vmax * k / 4, decimals, lang))}</text>' for k in range(5))
    step = max(1, int(np.ceil(n / 8)))
    shown = [i for i in range(n) if i % step == 0 or (i == n - 1 and (n - 1) % step > step / 2)]
    # Every other label is marked gs-xalt: a phone's style hides them and draws the rest larger.
    xlabels = "".join(
        f'<text class="gs-tick{" gs-xalt" if k % 2 else ""}" x="{coords[i][0]:.1f}" y="{top + h + 22}" '
        f'text-anchor="middle">{esc(str(points[i][0]))}</text>' for k, i in enumerate(shown))
    line = ('<polyline class="gs-line" fill="none" points="'
            + " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords) + '"/>')
    dots = "".join(
        f'<circle class="gs-pt" cx="{cx:.1f}" cy="{cy:.1f}" r="4" data-label="{esc(str(label))}" '
        f'data-value="{esc(_fmt(v, decimals, "en"))}"><title>{esc(str(label))}: '
        f'{esc(_fmt(v, decimals, lang))}{esc(unit)}</title></circle>'
        for (label, v), (cx, cy) in zip(points, coords))
    return head + grid + axis + xlabels + line + dots + "</svg>"


_DASHBOARD = _ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.dash_title }}{% if city %} · {{ city }}{% endif %}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<main class="gs-home gs-dash">
  <nav class="gs-lang" aria-label="{{ t.language }}">
    {% for code, label in langs %}
    <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
       {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
    {% endfor %}
  </nav>
  <h1>{{ t.dash_title }}{% if city %} · {{ city }}{% endif %}</h1>
  <p class="gs-note">{{ t.dash_intro }}</p>
  <ul class="gs-links">
    <li><a class="gs-button" id="gs-csv" href="{{ csv_url }}" download>{{ t.dash_csv }}</a></li>
    <li><a class="gs-button gs-secondary" href="{{ root }}workload/map?lang={{ lang }}">{{ t.nav_workload }}</a></li>
  </ul>
  {% for c in charts %}
  <section class="gs-dash-chart" id="gs-sec-{{ c.id }}">
    <h2>{{ c.title }}</h2>
    {{ c.svg|safe }}
  </section>
  {% endfor %}
  <section class="gs-dash-table">
    <h2>{{ t.dash_table }}</h2>
    <div class="gs-scroll">
    <table class="gs-marginal" id="gs-dash-table">
      <thead><tr><th scope="col">{{ t.col_precinct }}</th>
        {% for c in columns %}<th scope="col" class="gs-num-cell">{{ c }}</th>{% endfor %}</tr></thead>
      <tbody>
        {% for r in rows %}
        <tr data-precinct="{{ r.id }}"><th scope="row">{{ r.name }}</th>
          {% for v in r["values"] %}<td class="gs-num-cell">{{ v }}</td>{% endfor %}</tr>
        {% endfor %}
      </tbody>
    </table>
    </div>
  </section>
  <p class="gs-demo">{{ t.dash_caveat }}</p>
</main>
</body>
</html>
""")


def dashboard_page(*, lang: str, city: str, trends: Mapping[str, Sequence[tuple[str, float]]],
                   rows: Sequence[Mapping[str, Any]], csv_url: str, static_url: str = "/static") -> str:
    """The planner's dashboard of the reform's indicators: trend charts as inline SVG
    (appeals received per month, median hours to first contact per month, trust score per
    survey period, share of preventive-register visits made on time per month of their due
    date) and the per-precinct table of processing times and visits on time, with a CSV
    export link.

    Parameters
    ----------
    trends
        ``appeals``, ``first_contact_h``, ``trust``: ``(label, value)`` points in time order.
    rows
        Per precinct: ``id``, ``name``, ``received``, ``closed``, ``first_contact_median_h``,
        ``first_contact_p90_h``, ``close_median_h``, ``close_p90_h``, ``visits_on_time``
        (percent; None when unknown).
    """
    static_url = static_url.rstrip("/")
    tr = catalog(lang)
    hours = " " + t("hours", lang, value="").strip()
    charts = [
        {"id": "appeals", "title": tr["dash_chart_appeals"], "svg": trend_svg(
            trends.get("appeals") or [], chart_id="gs-chart-appeals", title=tr["dash_chart_appeals"], decimals=0,
            lang=lang, empty=tr["no_data"])},
        {"id": "contact", "title": tr["dash_chart_contact"], "svg": trend_svg(
            trends.get("first_contact_h") or [], chart_id="gs-chart-contact", title=tr["dash_chart_contact"],
            decimals=1, lang=lang, empty=tr["no_data"], unit=hours)},
        {"id": "trust", "title": tr["dash_chart_trust"], "svg": trend_svg(
            trends.get("trust") or [], chart_id="gs-chart-trust", title=tr["dash_chart_trust"], decimals=2,
            lang=lang, empty=tr["no_data"])},
        {"id": "visits", "title": tr["dash_chart_visits"], "svg": trend_svg(
            trends.get("visits_on_time") or [], chart_id="gs-chart-visits", title=tr["dash_chart_visits"],
            decimals=0, lang=lang, empty=tr["no_data"], unit=" %")},
    ]
    keys = (("received", 0), ("closed", 0), ("first_contact_median_h", 1), ("first_contact_p90_h", 1),
            ("close_median_h", 1), ("close_p90_h", 1), ("visits_on_time", 0))
    table = [{"id": str(r["id"]), "name": str(r.get("name") or r["id"]),
              "values": [_fmt(r.get(k), d, lang) for k, d in keys]} for r in rows]
    columns = [tr[f"dash_col_{k}"] for k, _ in keys]
    return _DASHBOARD.render(t=tr, lang=lang, langs=_lang_links(), static=static_url, root=_root_of(static_url),
                             city=city, charts=charts, rows=table, columns=columns, csv_url=csv_url)
