"""The precinct map: every precinct coloured, posts, roads, the address search and the inspector card.

Its script is ``static/app/precincts.js``; the search box calls the JSON API's ``/lookup``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import numpy as np
import shapely
from folium.plugins import MarkerCluster

from geo_service.pages.assets import LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import catalog
from geo_service.pages.kit import (
    ENV,
    Page,
    ScriptInit,
    add_config,
    attribution_of,
    base_layer,
    city_name,
    lang_links,
    osm_layer,
    post_pin,
    service_worker_url,
)
from geo_service.pages.layers import (
    PALETTE,
    core_bounds,
    post_layer_data,
    precinct_colours,
    precinct_layer_data,
    roads_geojson,
)
from geo_service.pages.shell import map_controls

#: Posts are clustered below this zoom (one marker per post from it on).
CLUSTER_UNTIL_ZOOM = 15

_PANEL = ENV.from_string("""
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
    <button type="button" id="gs-here" class="gs-here" title="{{ t.my_location_title }}">
      <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><circle cx="12" cy="12"
        r="4" fill="currentColor"/><path d="M12 2v4M12 18v4M2 12h4M18 12h4" stroke="currentColor" stroke-width="2"
        fill="none"/><circle cx="12" cy="12" r="7" stroke="currentColor" stroke-width="2" fill="none"/></svg>
      <span>{{ t.my_location }}</span></button>
  </form>
  <div class="gs-status" id="gs-status" role="status" aria-live="polite"></div>
  <ul class="gs-candidates" id="gs-candidates" hidden></ul>
  {% if demo %}<p class="gs-demo">{{ t.demo_note }}</p>{% endif %}
</header>
<section class="gs-card" id="gs-card" aria-live="polite" hidden></section>
<style>
  .gs-search .gs-here { display: inline-flex; align-items: center; gap: .35em; min-height: 44px; min-width: 44px;
    padding: 0 .7em; background: #fff; color: #1f3f77; border: 1px solid #1f3f77; border-radius: 6px;
    font: inherit; cursor: pointer; }
  .gs-search .gs-here[aria-busy="true"] { opacity: .6; }
  .gs-legend-note { margin: .3em 0; }
  .gs-legend-key { list-style: none; padding: 0; margin: .3em 0; }
  .gs-key-line { display: inline-block; width: 2em; vertical-align: middle; border-top: 3px solid #4e79a7; }
  .gs-key-derived { border-top-style: dashed; }
  @media (max-width: 480px) { .gs-search .gs-here span { position: absolute; width: 1px; height: 1px;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; } }
</style>
<details class="gs-legend" id="gs-legend">
  {% if tiles %}
  <summary>{{ t.legend }}</summary>
  <p class="gs-legend-note">{{ t.legend_tiles_note }}</p>
  <ul class="gs-legend-key">
    <li><span class="gs-key-line"></span> {{ t.official }}</li>
    <li><span class="gs-key-line gs-key-derived"></span> {{ t.derived }}</li>
  </ul>
  {% else %}
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
  {% endif %}
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")


def _style(colour: str, official: bool) -> dict[str, Any]:
    """A precinct's fill and outline; a derived precinct (not official) has a dashed outline."""
    style = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.22, "opacity": 0.9}
    if not official:
        style["dashArray"] = "6 4"
    return style


def precinct_page(city: Any, collection: Mapping[str, Any], *, lang: str, static_url: str = "/static",
                  api_url: str = "/api/v1", roads: Mapping[str, Any] | None = None,
                  register_service_worker: bool = True, public_url: str | None = None,
                  tiles: Mapping[str, Any] | None = None) -> str:
    """The precinct map: every precinct coloured, posts, roads, search box, inspector card.

    Parameters
    ----------
    city : CityBundle
        Only its manifest (name, bbox, attribution, demo flag) and, when ``roads`` is
        not given, ``city.walk`` for the road layer are used.
    collection
        The precinct FeatureCollection of `geo_service.lookup.service.Lookup.precincts_geojson`;
        it is cut to the shown properties by `precinct_layer_data`. With ``tiles`` only each
        feature's ``properties`` (``id`` and ``post``: the post markers) are read, so the
        caller may leave out the geometries.
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
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`): the base map and
        the precincts (filled in a colour derived from the id, borders, names) are drawn
        from them, and a click asks the lookup API by point for the card, so the page's
        weight does not grow with the number of precincts (only the post markers are in
        it). Without tiles the roads (``roads``) and every precinct polygon with its card
        are put into the page.

    The map opens on the built-up core (`core_bounds` of the addresses), posts are
    clustered below zoom `CLUSTER_UNTIL_ZOOM`, and the title names the city in ``lang``
    (`geo_service.pages.kit.city_name`).

    Notes
    -----
    Calls `geo_service.pages.assets.configure_folium` with ``<static_url>/vendor``: the
    prefix is process-wide, so render pages for one ``static_url`` at a time.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    manifest = city.manifest
    name = city_name(manifest, lang)
    tr = catalog(lang)
    page = Page(lang=lang, title=f"{tr['precincts_title']} · {name}")
    minlon, minlat, maxlon, maxlat = manifest["bbox"]
    # maxZoom: the post clusters need one, and without tiles no layer gives it.
    m = offline_map([(minlat + maxlat) / 2, (minlon + maxlon) / 2], 13, control_scale=True, prefer_canvas=False,
                    maxZoom=19)
    page.add_child(m)

    precincts: folium.GeoJson | None = None
    items: list[dict[str, Any]] = []
    extent: list[float] | None = None
    if tiles:  # the precincts are drawn from the tiles; the card comes from the lookup API
        extent = [float(v) for v in tiles.get("bounds") or manifest["bbox"]]
    else:
        precincts, items, extent = _inline_precincts(m, collection, tr)
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1.2, opacity=0.75, fill=bool(tiles),
               roads=lambda: roads if roads is not None else roads_geojson(city.walk))
    cluster, posts, post_data = _post_layers(m, collection, tr, tiled=bool(tiles))
    osm = osm_layer(tr)
    osm.add_to(m)
    # "Use my location" is the search form's button (#gs-here): it also opens the card, so no locate control.
    map_controls(m, tr)  # full screen and zoom buttons titled in the page's language
    folium.LayerControl(collapsed=True).add_to(m)
    addresses = getattr(city, "addresses", None)
    core = core_bounds(addresses.lon, addresses.lat) if addresses is not None and len(addresses) else None
    core = core or extent
    if core is not None:
        m.fit_bounds([[core[1], core[0]], [core[3], core[2]]])
    m.add_child(ScriptInit("GeoServicePage.init", [precincts, posts, osm, cluster], static_url=static_url,
                           script="precincts.js"))

    attribution = attribution_of(manifest)
    page.html.add_child(LiteralHtml(_PANEL.render(
        t=tr, lang=lang, langs=lang_links(), city=name, items=items, tiles=bool(tiles),
        demo=bool(manifest.get("demo")), attribution=attribution)), name="gs_panel", index=0)
    config: dict[str, Any] = {"lang": lang, "api": api_url.rstrip("/"), "t": tr, "attribution": attribution,
              "public": public_url, "sw": service_worker_url(static_url, register_service_worker),
              "tiles": bool(tiles)}
    if tiles:
        config["posts"] = [[round(lat, 5), round(lon, 5), f["properties"]["name"], f["properties"]["precinct"]]
                           for f in post_data["features"] for lon, lat in [f["geometry"]["coordinates"]]]
    add_config(page, config)
    return page.render()


def _post_layers(m: folium.Map, collection: Mapping[str, Any], tr: Mapping[str, str], *,
                 tiled: bool) -> tuple[MarkerCluster, folium.GeoJson, dict[str, Any]]:
    """The posts' cluster and layer. Tiled: the posts travel as compact rows in the page's JSON
    config ([lat, lon, name, precinct], UTF-8, about 3 times smaller than folium's ASCII-escaped
    GeoJSON), and the script adds them; the layer starts empty."""
    cluster = MarkerCluster(name=tr["layer_posts"], options={
        "disableClusteringAtZoom": CLUSTER_UNTIL_ZOOM, "showCoverageOnHover": False, "maxClusterRadius": 48})
    cluster.add_to(m)
    post_data = post_layer_data(collection)
    posts = folium.GeoJson({"type": "FeatureCollection", "features": []} if tiled else post_data,
                           name=tr["layer_posts"], marker=post_pin(), control=False)
    posts.add_to(cluster)
    return cluster, posts, post_data


def _inline_precincts(m: folium.Map, collection: Mapping[str, Any],
                      tr: Mapping[str, str]) -> tuple[folium.GeoJson, list[dict[str, Any]], list[float] | None]:
    """Every precinct put into the page as GeoJSON (a bundle without tiles): the layer, the
    legend's items and the precincts' extent [minlon, minlat, maxlon, maxlat]."""
    data = precinct_layer_data(collection)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    colours = precinct_colours(geoms) if geoms else []
    style_by_id = {f["id"]: _style(c, f["properties"]["source"] == "official")
                   for f, c in zip(data["features"], colours)}
    precincts = folium.GeoJson(data, name=tr["layer_precincts"],
                               style_function=lambda f: style_by_id.get(f["id"], _style(PALETTE[0], False)))
    precincts.add_to(m)
    items = [{"id": f["id"], "name": f["properties"]["name"], "colour": c,
              "official": f["properties"]["source"] == "official"} for f, c in zip(data["features"], colours)]
    extent = shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist() if geoms else None
    return precincts, items, extent
