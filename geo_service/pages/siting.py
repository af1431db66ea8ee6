"""The planner's siting page: existing and proposed posts, the areas they reach within the
service time, uncovered demand as heat, and the marginal-gain table.

Its script is ``static/app/siting.js``; so is the waiting page's (`siting_waiting_page`), shown
while a job draws the map's service areas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium
import shapely
from folium.plugins import HeatMap

from geo_service.pages.assets import LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import catalog, t
from geo_service.pages.kit import (
    ENV,
    LANG_NAV,
    POST_PIN_SVG,
    Page,
    ScriptInit,
    add_config,
    attribution_of,
    base_layer,
    city_name,
    lang_links,
    osm_layer,
    post_pin,
    root_of,
    service_worker_url,
)
from geo_service.pages.layers import bbox_of, light_geometry, roads_geojson
from geo_service.pages.shell import map_controls
from geo_service.siting.site_names import site_names

SITE_STYLES: Final[dict[str, dict[str, Any]]] = {
    "existing": {"color": "#1f4e8c", "weight": 1.5, "fillColor": "#4e79a7", "fillOpacity": 0.18},
    "proposed": {"color": "#1d7a35", "weight": 2, "fillColor": "#59a14f", "fillOpacity": 0.22},
}


#: The sites' pins (inline SVG, as the other pages' posts): an existing post's shield, a proposed post's plus.
_PROPOSED_PIN: Final[str] = (
    '<svg viewBox="0 0 30 40" width="30" height="40" aria-hidden="true" focusable="false">'
    '<path d="M15 39C15 39 2 24 2 14.5a13 13 0 0 1 26 0C28 24 15 39 15 39z" fill="#1d7a35" stroke="#fff"'
    ' stroke-width="2"/><path d="M13.2 8h3.6v5.7h5.7v3.6h-5.7V23h-3.6v-5.7H7.5v-3.6h5.7z" fill="#fff"/></svg>')
_SITE_ICONS: Final[dict[str, dict[str, str]]] = {
    "existing": {"html": POST_PIN_SVG, "className": "gs-post-icon gs-site-existing"},
    "proposed": {"html": _PROPOSED_PIN, "className": "gs-post-icon gs-site-proposed"},
}


_SITING_PANEL = ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.siting_title }}</h1>
""" + LANG_NAV + """
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
          data-lat="{{ s.lat }}" data-lon="{{ s.lon }}" data-site="{{ s.id }}">{{ s.name }}{% if s.place %}<br><small class="gs-site-place">{{ s.place }}</small>{% endif %}</button>{% else %}<span data-site="{{ s.id }}">{{ s.name }}</span>{% endif %}{% endfor %}</td>
        <td class="gs-num-cell">{{ r.value }}</td><td class="gs-num-cell">{{ r.gain }}</td></tr>
      {% endfor %}
    </tbody>
  </table>
  {% else %}<p class="gs-note">{{ t.no_marginal }}</p>{% endif %}
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")  # noqa: E501 - template markup: one line per element, as the page reads


def siting_page(city: Any, result: Mapping[str, Any], areas: Sequence[Mapping[str, Any] | None], *, lang: str,
                static_url: str = "/static", roads: Mapping[str, Any] | None = None,
                register_service_worker: bool = True, tiles: Mapping[str, Any] | None = None) -> str:
    """The planner's siting page: existing and proposed posts, their service areas,
    uncovered demand as heat, and the marginal-gain table.

    Parameters
    ----------
    result
        A kept siting result (`geo_service.siting.request.run_siting`): ``chosen``, ``existing``,
        ``coverage``, ``uncovered``, ``marginal``, ``request``; other keys are not used.
    areas
        One `geo_service.network.reach.isochrone` Feature per site, existing first then chosen
        (the order of ``existing + chosen``).
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`), drawn instead of ``roads``.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    page = Page(lang=lang, title=f"{tr['siting_title']} · {city_name(city.manifest, lang)}",
                body_class="gs-siting-page")
    request = result.get("request") or {}
    minutes = float(request.get("minutes") or (float(result.get("service_time") or 0) / 60))
    sites = [("existing", s) for s in result.get("existing") or []] + \
            [("proposed", s) for s in result.get("chosen") or []]
    shown = _shown_names(city, result, lang)
    heat = _add_siting_map(page, city, result, sites, areas, shown, tr=tr, lang=lang, minutes=minutes, roads=roads,
                           static_url=static_url, tiles=tiles)

    rows, share = _marginal_rows(result, sites, shown)
    cov = result.get("coverage")
    coverage = (t("coverage", lang, before=f"{cov['before']['share'] * 100:.1f} %",
                  after=f"{cov['after']['share'] * 100:.1f} %") if cov else "")
    mode = str(request.get("mode") or result.get("mode") or "walk")
    params = t("siting_params", lang, model=str(result.get("model", "")).upper(), minutes=f"{minutes:g}",
               mode=t(f"mode_{'drive' if mode == 'drive' else 'walk'}", lang))
    attribution = attribution_of(city.manifest)
    page.html.add_child(LiteralHtml(_SITING_PANEL.render(
        t=tr, lang=lang, langs=lang_links(), params=params, coverage=coverage, rows=rows, heat=heat,
        value_label=tr["col_value"] if share else tr["col_value_time"],
        gain_label=tr["col_gain"] if share else tr["col_gain_time"],
        areas_label=t("service_areas", lang, minutes=f"{minutes:g}"),
        colours={k: v["fillColor"] for k, v in SITE_STYLES.items()}, attribution=attribution,
        n_existing=sum(1 for k, _ in sites if k == "existing"), n_proposed=sum(1 for k, _ in sites if k == "proposed"),
    )), name="gs_panel", index=0)
    config: dict[str, Any] = {"lang": lang, "t": {k: tr[k] for k in ("unit_m", "unit_km")}, "attribution": attribution,
                              "sw": service_worker_url(static_url, register_service_worker)}
    add_config(page, config)
    return page.render()


def _shown_names(city: Any, result: Mapping[str, Any], lang: str) -> list[dict[str, str | None]]:
    """Each site (existing, then chosen) as the planner reads it: ``name`` (a proposed site's rank,
    "Site 2", or an existing post's name), ``place`` (its address or street, "near ..." unless it
    is the post's own address; None when the bundle knows none) and ``id`` (the raw label, kept
    for data attributes only)."""
    out: list[dict[str, str | None]] = []
    for k, s in enumerate(site_names(city, result, lang)):
        if s["kind"] == "existing":
            name = s["post"] or t("siting_existing_n", lang, n=str(k + 1))
        else:
            name = t("siting_site", lang, n=str(s["rank"]))
            if s.get("given"):  # the planner's own name for the candidate
                name = f"{name} · {s['given']}"
        place = s["place"] if s["place_kind"] == "post" else (
            t("siting_near", lang, place=s["place"]) if s["place"] else None)
        out.append({"id": s["id"], "name": name, "place": place})
    return out


def _site_features(sites: Sequence[tuple[str, Mapping[str, Any]]], areas: Sequence[Mapping[str, Any] | None],
                   shown: Sequence[Mapping[str, str | None]]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[float, float]]]:
    """The site markers (``p<k>``; ``label``: the shown name, a newline and the place when
    known), their service areas (``a<k>``, simplified) and the points the view must hold; a
    site without a point is left out."""
    site_features, area_features, points = [], [], []
    for k, ((kind, s), area) in enumerate(zip(sites, [*areas, *([None] * len(sites))])):
        label = "\n".join(str(x) for x in (shown[k]["name"], shown[k]["place"]) if x)
        if s.get("lat") is None:
            continue
        lat, lon = round(float(s["lat"]), 6), round(float(s["lon"]), 6)
        points.append((lon, lat))
        site_features.append({"type": "Feature", "id": f"p{k}", "properties": {"kind": kind, "label": label},
                              "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        if area is not None:
            area_features.append({"type": "Feature", "id": f"a{k}", "properties": {"kind": kind},
                                  "geometry": light_geometry(area["geometry"])})
    for f in area_features:
        points += [tuple(c) for c in shapely.get_coordinates(shapely.geometry.shape(f["geometry"])).tolist()[::20]]
    return site_features, area_features, points


def _add_siting_map(page: Page, city: Any, result: Mapping[str, Any], sites: Sequence[tuple[str, Mapping[str, Any]]],
                    areas: Sequence[Mapping[str, Any] | None], shown: Sequence[Mapping[str, str | None]], *,
                    tr: Mapping[str, str], lang: str, minutes: float, roads: Mapping[str, Any] | None,
                    static_url: str, tiles: Mapping[str, Any] | None) -> bool:
    """The map: roads, service areas, uncovered demand as heat, the sites. True when there is heat."""
    site_features, area_features, points = _site_features(sites, areas, shown)
    if not points:
        x0, y0, x1, y1 = city.manifest["bbox"]
        points = [(x0, y0), (x1, y1)]
    view = bbox_of(points, margin_deg=0.001)
    # No folium scale: its imperial line ("ft", "mi") is English; siting.js adds a metric one in the
    # page's words (mapkit.js, linked here).
    m = offline_map([(view[1] + view[3]) / 2, (view[0] + view[2]) / 2], 13)
    page.add_child(m)
    page.header.add_child(folium.JavascriptLink(f"{static_url}/app/mapkit.js"), name="gs_mapkit")
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1, opacity=0.6,
               roads=lambda: roads if roads is not None else roads_geojson(city.walk))
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
                                marker=post_pin(),
                                style_function=lambda f: _SITE_ICONS[f["properties"]["kind"]])
    site_layer.add_to(m)
    osm = osm_layer(tr)
    osm.add_to(m)
    map_controls(m, tr)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    m.add_child(ScriptInit("GeoServiceSiting.init", [site_layer, area_layer, osm], static_url=static_url,
                           script="siting.js"))
    return heat


def _marginal_rows(result: Mapping[str, Any], sites: Sequence[tuple[str, Mapping[str, Any]]],
                   shown: Sequence[Mapping[str, str | None]]) -> tuple[list[dict[str, Any]], bool]:
    """The marginal-gain table's rows (p, the sites with their shown names, places and points,
    value, gain) and whether the measure is the covered share (percent) rather than a time (minutes)."""
    by_label: dict[str, dict[str, Any]] = {}
    for (_, s), names in zip(sites, shown):
        by_label.setdefault(str(s.get("label") or ""), {"lat": s.get("lat"), "lon": s.get("lon"), **names})
    marginal = result.get("marginal") or {}
    share = marginal.get("measure", "coverage_share") == "coverage_share"
    rows = []
    for step in marginal.get("steps") or []:
        value, gain = float(step.get("value") or 0), float(step.get("gain") or 0)
        rows.append({
            "p": int(step.get("p") or 0),
            "sites": [by_label.get(str(lb), {"id": str(lb), "name": str(lb), "place": None, "lat": None, "lon": None})
                      for lb in step.get("sites") or []],
            "value": f"{value * 100:.1f} %" if share else f"{value / 60:.1f}",
            "gain": f"{gain * 100:+.1f}" if share else f"{gain / 60:+.1f}",
        })
    return rows, share


_WAITING = ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ t.siting_wait_title }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<main class="gs-home gs-siting-wait" id="gs-siting-wait" data-job="{{ job_url }}" data-status="{{ status }}"
      data-progress="{{ t.siting_wait_progress }}" data-queued="{{ t.siting_wait_queued }}"
      data-running="{{ t.siting_wait_running }}">
""" + LANG_NAV + """
  <h1>{{ t.siting_wait_title }}</h1>
  <p class="gs-wait-text">{{ text }}</p>
  <p class="gs-wait-progress" id="gs-wait-progress" role="status" aria-live="polite">{{ t.siting_wait_queued if status == "queued" else t.siting_wait_running }}</p>
  <p class="gs-error-text" id="gs-wait-failed" role="alert" hidden>{{ t.siting_wait_failed }}</p>
  <p class="gs-error-text" id="gs-wait-cancelled" role="alert" hidden>{{ t.siting_wait_cancelled }}</p>
  <ul class="gs-links"><li><a class="gs-button gs-secondary" id="gs-wait-reload" href="?lang={{ lang }}">{{ t.siting_wait_reload }}</a></li>
    <li><a class="gs-button gs-secondary" href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a></li></ul>
</main>
<script src="{{ static }}/app/siting.js"></script>
</body>
</html>
""")  # noqa: E501 - template markup: one line per element, as the page reads


def siting_waiting_page(*, lang: str, job_url: str, status: str, posts: int, minutes: float,
                        static_url: str = "/static", solving: bool = False) -> str:
    """The light page a planner sees while a job draws a siting map's service areas (or, with
    ``solving``, while the siting run itself is solved): it polls ``job_url`` (the page's own
    credentials) and reloads into the map when the job is done, or says that it failed or was
    cancelled. Nothing personal in it: the job's URL, counts and texts."""
    static_url = static_url.rstrip("/")
    text = t("siting_wait_run", lang) if solving else t("siting_wait_text", lang, minutes=f"{minutes:g}",
                                                         posts=str(posts))
    return _WAITING.render(t=catalog(lang), lang=lang, langs=lang_links(), static=static_url,
                           root=root_of(static_url), job_url=job_url, status=status, text=text)
