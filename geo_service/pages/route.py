"""The inspector's route page for a phone: numbered stops, the path, the precinct, the post,
"made" buttons on a signed link, and links that open each stop in a navigation app.

Its script is ``static/app/route.js``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import shapely
from folium.plugins import LocateControl

from geo_service.ingest.tiles import tiles_of_bbox
from geo_service.pages.assets import LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import catalog, stop_label, t, visit_type
from geo_service.pages.kit import (
    ENV,
    LANG_NAV,
    Page,
    ScriptInit,
    add_config,
    attribution_of,
    base_layer,
    day_text,
    lang_links,
    osm_layer,
    post_pin,
    service_worker_url,
)
from geo_service.pages.layers import RoadIndex, bbox_of, light_geometry, roads_geojson
from geo_service.pages.shell import map_controls


def nav_links(lat: float, lon: float, *, mode: str = "walk") -> dict[str, str]:
    """Links that open the way to a point in a navigation app (tapped by a person, never loaded).

    ``geo`` is the ``geo:`` URI (Android offers the installed apps), ``2gis`` and
    ``yandex`` the 2GIS and Yandex Maps links (walking, or driving for ``drive``).
    """
    la, lo = f"{float(lat):.6f}", f"{float(lon):.6f}"
    rtt = "auto" if mode == "drive" else "pd"
    return {"geo": f"geo:{la},{lo}?q={la},{lo}", "2gis": f"https://2gis.kz/geo/{lo},{la}",
            "yandex": f"https://yandex.kz/maps/?rtext=~{la},{lo}&rtt={rtt}"}


#: The data zooms of a route's area that the service worker keeps (deeper views overzoom the last).
KEEP_ZOOMS = (12, 13, 14)
#: At most this many tiles are kept per route (a day's area needs a few dozen).
KEEP_MAX = 120


def tile_urls(tiles: Mapping[str, Any], bbox: list[float]) -> list[str]:
    """The URLs of the tiles covering ``bbox`` at `KEEP_ZOOMS` (capped at `KEEP_MAX`)."""
    urls: list[str] = []
    template = str(tiles["url"])
    for z in KEEP_ZOOMS:
        if z > int(tiles["max_zoom"]):
            continue
        x0, y0, x1, y1 = tiles_of_bbox(bbox, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                urls.append(template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y)))
    return urls[:KEEP_MAX]


def route_layer_data(plan: Mapping[str, Any], *, lang: str, decimals: int = 6,
                     made: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the route page shows of a day plan (`geo_service.routes.day.DayPlan.to_dict`).

    Returns
    -------
    dict
        ``items``: every stop in visiting order (visits numbered from 1) with its kind,
        label (translated: `stop_label`), address (when the stop has one), times, time
        windows (``HH:MM–HH:MM`` texts), visit type (translated) and point; ``stops``: the
        visits as a FeatureCollection (feature id ``s<n>``, properties ``n`` and ``label``,
        and ``made: 1`` for a stop in ``made``); ``route``: the legs' paths as one
        MultiLineString Feature without properties; ``unassigned``: labels and reason
        codes. Priority numbers, visit ids and everything else are left out.
    """
    items: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    made = made or {}
    n = 0
    for stop in plan.get("stops") or []:
        kind = str(stop["kind"])
        number = None
        if kind == "visit":
            n += 1
            number = n
        label = stop_label(kind, str(stop.get("label") or ""), lang)
        lat, lon = round(float(stop["lat"]), decimals), round(float(stop["lon"]), decimals)
        windows = [f"{a}–{b}" for a, b in stop.get("time_windows") or []] if kind == "visit" else []
        items.append({"n": number, "kind": kind, "label": label, "lat": lat, "lon": lon,
                      "address": str(stop.get("address") or "") if kind == "visit" else "",
                      "windows": windows, "vtype": visit_type(stop.get("priority"), lang) if kind == "visit" else "",
                      "made": number is not None and str(number) in made,
                      "arrival": str(stop.get("arrival") or ""), "start": str(stop.get("start") or ""),
                      "departure": str(stop.get("departure") or "")})
        if number is not None:
            props: dict[str, Any] = {"n": number, "label": label}
            if str(number) in made:
                props["made"] = 1
            features.append({"type": "Feature", "id": f"s{number}", "geometry": {"type": "Point",
                             "coordinates": [lon, lat]}, "properties": props})
    lines = []
    for leg in plan.get("legs") or []:
        geom = leg.get("geometry") or {}
        if geom.get("type") == "LineString" and len(geom.get("coordinates") or []) >= 2:
            lines.append([[round(float(x), decimals), round(float(y), decimals)] for x, y in geom["coordinates"]])
    unassigned = [{"label": stop_label("visit", str(u.get("label") or ""), lang), "code": str(u.get("code") or "")}
                  for u in plan.get("unassigned") or []]
    return {"items": items, "stops": {"type": "FeatureCollection", "features": features},
            "route": {"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString",
                                                                         "coordinates": lines}},
            "unassigned": unassigned}


_ROUTE_HEAD = ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ title }}</h1>
""" + LANG_NAV + """
  </div>
  <p class="gs-route-sum">{{ summary }}</p>
  <div class="gs-route-actions">
    <a class="gs-button" id="gs-gpx" href="{{ gpx }}" download>{{ t.gpx_download }}</a>
    <a class="gs-button gs-secondary" id="gs-sheet" href="{{ sheet }}" target="_blank" rel="noopener">{{ t.print_sheet }}</a>
  </div>
</header>
""")  # noqa: E501 - template markup: one line per element, as the page reads


_ROUTE_LIST = ENV.from_string("""
<details class="gs-stops" id="gs-stops" open>
  <summary>{{ t.stops }} ({{ items|length }})</summary>
  <ol class="gs-stop-list">
    {% for it in items %}
    <li class="gs-stop-item gs-kind-{{ it.kind }}{% if it.made %} gs-stop-made{% endif %}"{% if it.n %} id="gs-stop-{{ it.n }}"{% endif %}>
      <button type="button" class="gs-stop-go" data-lat="{{ it.lat }}" data-lon="{{ it.lon }}"
              {% if it.n %}data-stop="{{ it.n }}"{% endif %} aria-label="{{ t.show_on_map }}: {{ it.label }}">
        <span class="gs-num{% if not it.n %} gs-num-other{% endif %}">{{ it.n or "" }}</span>
        <span class="gs-stop-label">{{ it.label }}</span>
      </button>
      {% if it.vtype %}<p class="gs-vtype">{{ it.vtype }}</p>{% endif %}
      {% if it.address %}<p class="gs-address">{{ t.stop_address }}: {{ it.address }}</p>{% endif %}
      {% if it.windows %}<p class="gs-window">{{ t.stop_window }}: <b>{{ it.windows|join(", ") }}</b></p>{% endif %}
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
""")  # noqa: E501 - template markup: one line per element, as the page reads


def route_page(city: Any, plan: Mapping[str, Any], *, lang: str, date: str, gpx_url: str, sheet_url: str,
               precinct: Mapping[str, Any] | None = None, post: Mapping[str, Any] | None = None,
               static_url: str = "/static", road_index: RoadIndex | None = None,
               register_service_worker: bool = True, done_url: str | None = None,
               made: Mapping[str, str] | None = None, tiles: Mapping[str, Any] | None = None) -> str:
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
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`): the base map, and the
        tiles of the route's area (zooms `KEEP_ZOOMS`) are listed for the service worker
        to keep offline. Without them the roads near the route are put into the page.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    data = route_layer_data(plan, lang=lang, made=made)
    items = data["items"]
    marks = _marks(items, lang=lang, done_url=done_url, made=made)
    mode = str(plan.get("mode") or "walk")
    for it in items:
        if it["n"]:
            it["nav"] = nav_links(it["lat"], it["lon"], mode="drive" if mode == "drive" else "walk")
    for u in data["unassigned"]:
        u["reason"] = t(f"reason_{u['code']}", lang) if f"reason_{u['code']}" in tr else ""

    title = t("route_title", lang, date=day_text(date, lang))
    page = Page(lang=lang, title=title, body_class="gs-route-page")
    _add_route_map(page, city, data, tr=tr, precinct=precinct, post=post, road_index=road_index,
                   static_url=static_url, tiles=tiles)

    totals = plan.get("totals") or {}
    first = next((it for it in items if it["kind"] == "start"), items[0] if items else None)
    last = next((it for it in reversed(items) if it["kind"] == "end"), items[-1] if items else None)
    summary = t("route_summary", lang, visits=sum(1 for it in items if it["n"]),
                km=f"{float(totals.get('length_m') or 0) / 1000:.1f}",
                start=first["departure"] if first else "", end=last["arrival"] if last else "")
    attribution = attribution_of(city.manifest)
    page.html.add_child(LiteralHtml(_ROUTE_HEAD.render(t=tr, lang=lang, langs=lang_links(), title=title,
                                                       summary=summary, gpx=gpx_url, sheet=sheet_url)),
                        name="gs_panel", index=0)
    page.html.add_child(LiteralHtml(_ROUTE_LIST.render(t=tr, items=items, unassigned=data["unassigned"],
                                                       attribution=attribution, marks=marks)), name="gs_stops")
    keys = ("show_on_map", "post", "stop", "mark_made", "undo_made", "marks_refused", "marks_forget", "stop_made_map",
            "marks_pending", "unit_m", "unit_km")
    config = {"lang": lang, "t": {k: tr[k] for k in keys}, "attribution": attribution,
              "sw": service_worker_url(static_url, register_service_worker)}
    add_config(page, config)
    return page.render()


def _marks(items: list[dict[str, Any]], *, lang: str, done_url: str | None,
           made: Mapping[str, str] | None) -> dict[int, dict[str, Any]]:
    """Per visit number, the "made" and "undo" form actions and the made text (None: not made yet);
    empty without ``done_url``. The forms name the stop's number, never the caller's visit id."""
    marks: dict[int, dict[str, Any]] = {}
    if done_url is None:
        return marks
    made = made or {}
    for it in items:
        if it["n"]:
            n = int(it["n"])
            marks[n] = {"action": f"{done_url}{n}/done?lang={lang}", "undo": f"{done_url}{n}/undo?lang={lang}",
                        "made": t("made_at", lang, time=made[str(n)]) if str(n) in made else None}
    return marks


def _add_route_map(page: Page, city: Any, data: Mapping[str, Any], *, tr: Mapping[str, str],
                   precinct: Mapping[str, Any] | None, post: Mapping[str, Any] | None,
                   road_index: RoadIndex | None, static_url: str, tiles: Mapping[str, Any] | None) -> None:
    """The map: roads near the route, the precinct boundary, the path, the post, numbered stops."""
    items = data["items"]
    points = [(it["lon"], it["lat"]) for it in items]
    points += [tuple(c) for ln in data["route"]["geometry"]["coordinates"] for c in ln]
    if post and post.get("lat") is not None:
        points.append((float(post["lon"]), float(post["lat"])))
    if not points:
        x0, y0, x1, y1 = city.manifest["bbox"]
        points = [(x0, y0), (x1, y1)]
    view = bbox_of(points, margin_deg=0.0005)
    # No folium scale: its imperial line ("ft", "mi") is English and, bottom left, it hides under the
    # attribution's second line on a phone; route.js adds a metric one in the page's words (mapkit.js).
    m = offline_map([(view[1] + view[3]) / 2, (view[0] + view[2]) / 2], 15)
    page.add_child(m)
    page.header.add_child(folium.JavascriptLink(f"{static_url}/app/mapkit.js"), name="gs_mapkit")

    around = bbox_of(points, margin_deg=0.004)
    if precinct is not None and precinct.get("geometry"):
        pb = shapely.bounds(shapely.geometry.shape(precinct["geometry"])).tolist()
        around = [min(around[0], pb[0]), min(around[1], pb[1]), max(around[2], pb[2]), max(around[3], pb[3])]
    keep = tile_urls(tiles, around) if tiles else []
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1.2, opacity=0.75, keep=keep,
               roads=lambda: (road_index if road_index is not None else RoadIndex(roads_geojson(city.walk))).within(
                   around))
    if precinct is not None and precinct.get("geometry"):
        boundary = {"type": "Feature", "properties": {}, "geometry": light_geometry(precinct["geometry"], tolerance=0)}
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
            name=tr["post"], marker=post_pin())
        post_layer.add_to(m)
    # One marker per visit; the number is the feature's own style (a digit string, nothing else).
    icon = folium.DivIcon(html="", icon_size=(36, 36), icon_anchor=(18, 18), class_name="gs-stop-icon")
    stops = folium.GeoJson(data["stops"], name=tr["layer_stops"], marker=folium.Marker(icon=icon),
                           style_function=lambda f: {"html": str(int(f["properties"]["n"]))})
    stops.add_to(m)
    osm = osm_layer(tr)
    osm.add_to(m)
    LocateControl(strings={"title": tr["show_on_map"]}, flyTo=True, keepCurrentZoomLevel=True,
                  icon="gs-locate-icon").add_to(m)
    map_controls(m, tr)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    m.add_child(ScriptInit("GeoServiceRoute.init", [stops, route, post_layer, osm], static_url=static_url,
                           script="route.js"))
