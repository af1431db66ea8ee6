"""The precinct map: every precinct coloured, posts, roads, the address search and the inspector card.

Its script is ``static/app/precincts.js``; the search box calls the JSON API's ``/lookup``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import numpy as np
import shapely
from folium.plugins import Fullscreen, LocateControl, MarkerCluster

from geo_service.pages.assets import LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import catalog, t
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
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`): the base map is
        drawn from them; without them the roads are put into the page (``roads``).

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
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1.2, opacity=0.75,
               roads=lambda: roads if roads is not None else roads_geojson(city.walk))
    cluster = MarkerCluster(name=tr["layer_posts"], options={
        "disableClusteringAtZoom": CLUSTER_UNTIL_ZOOM, "showCoverageOnHover": False, "maxClusterRadius": 48})
    cluster.add_to(m)
    posts = folium.GeoJson(post_layer_data(collection), name=tr["layer_posts"], marker=post_pin(),
                           control=False)
    posts.add_to(cluster)
    osm = osm_layer(tr)
    osm.add_to(m)
    LocateControl(strings={"title": t("nav_precincts", lang)}, flyTo=True, icon="gs-locate-icon").add_to(m)
    Fullscreen(position="topleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    addresses = getattr(city, "addresses", None)
    core = core_bounds(addresses.lon, addresses.lat) if addresses is not None and len(addresses) else None
    if core is not None:
        m.fit_bounds([[core[1], core[0]], [core[3], core[2]]])
    elif geoms:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist()
        m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(ScriptInit("GeoServicePage.init", [precincts, posts, osm], static_url=static_url,
                           script="precincts.js"))

    items = [{"id": f["id"], "name": f["properties"]["name"], "colour": c,
              "official": f["properties"]["source"] == "official"} for f, c in zip(data["features"], colours)]
    attribution = attribution_of(manifest)
    page.html.add_child(LiteralHtml(_PANEL.render(
        t=tr, lang=lang, langs=lang_links(), city=name, items=items,
        demo=bool(manifest.get("demo")), attribution=attribution)), name="gs_panel", index=0)
    config = {"lang": lang, "api": api_url.rstrip("/"), "t": tr, "attribution": attribution,
              "public": public_url, "sw": service_worker_url(static_url, register_service_worker)}
    add_config(page, config)
    return page.render()
