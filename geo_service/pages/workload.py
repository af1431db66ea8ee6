"""The planner's workload pages: the precinct choropleth of a chosen indicator with its table
and imbalance summary (script ``static/app/workload.js``), and the reform dashboard of trend
charts drawn as inline SVG (no script, no chart library) with its per-precinct table.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium
import numpy as np
import shapely

from geo_service.pages.assets import LiteralHtml, configure_folium, offline_map
from geo_service.pages.i18n import catalog, t
from geo_service.pages.kit import (
    ENV,
    LANG_NAV,
    Page,
    ScriptInit,
    add_config,
    attribution_of,
    base_layer,
    city_name,
    format_number,
    lang_links,
    osm_layer,
    period_text,
    root_of,
    service_worker_url,
)
from geo_service.pages.layers import light_geometry, number_or_none, roads_geojson
from geo_service.pages.shell import map_controls

#: Indicators the selector offers (the first is the default), and how many decimals each shows.
WORKLOAD_CHOICES: Final[tuple[str, ...]] = (
    "workload_per_inspector", "residents", "area_km2", "walk_mean_min", "appeals")
WORKLOAD_DECIMALS: Final[dict[str, int]] = {
    "workload_per_inspector": 2, "workload_index": 2, "inspectors": 0, "residents": 0, "addresses": 0,
    "area_km2": 2, "road_km": 1, "walk_mean_min": 1, "walk_p90_min": 1, "appeals": 0}
#: Sequential classes of the choropleth (ColorBrewer YlOrRd, 5 classes), low to high.
WORKLOAD_COLOURS: Final[tuple[str, ...]] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


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
        props.update({k: number_or_none(r.get(k), d) for k, d in WORKLOAD_DECIMALS.items()})
        features.append({"type": "Feature", "id": pid, "properties": props,
                         "geometry": light_geometry(shapely.geometry.mapping(geom), tolerance=0, decimals=decimals)})
    return {"type": "FeatureCollection", "features": features}


_WORKLOAD_PANEL = ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.workload_title }} · {{ city }}</h1>
""" + LANG_NAV + """
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
""")  # noqa: E501 - template markup: one line per element, as the page reads


def workload_page(city: Any, rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], *, lang: str,
                  period: Sequence[Any], static_url: str = "/static", roads: Mapping[str, Any] | None = None,
                  register_service_worker: bool = True, tiles: Mapping[str, Any] | None = None) -> str:
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
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`), drawn instead of ``roads``.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    name = city_name(city.manifest, lang)
    page = Page(lang=lang, title=f"{tr['workload_title']} · {name}", body_class="gs-workload-page")
    data = workload_layer_data(city.precincts, rows)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    if geoms:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object)).tolist()
    else:
        x0, y0, x1, y1 = city.manifest["bbox"]
    m = offline_map([(y0 + y1) / 2, (x0 + x1) / 2], 13, control_scale=True)
    page.add_child(m)
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1, opacity=0.6,
               roads=lambda: roads if roads is not None else roads_geojson(city.walk))
    # Coloured by the page script (the indicator is chosen in the page); grey until then.
    precincts = folium.GeoJson(data, name=tr["layer_precincts"],
                               style_function=lambda _: {"color": "#555555", "weight": 1.5, "fillColor": "#d0d4d8",
                                                         "fillOpacity": 0.7})
    precincts.add_to(m)
    osm = osm_layer(tr)
    osm.add_to(m)
    map_controls(m, tr)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(ScriptInit("GeoServiceWorkload.init", [precincts, osm], static_url=static_url, script="workload.js"))

    table_keys = ("workload_per_inspector", "residents", "area_km2", "walk_mean_min", "appeals")
    short = {"workload_per_inspector": "col_index", "residents": "col_residents", "area_km2": "col_area",
             "walk_mean_min": "col_walk", "appeals": "col_appeals"}
    ordered = sorted(data["features"], key=lambda f: -(f["properties"]["workload_per_inspector"] or -1e300))
    table_rows = [{"id": f["id"], "name": f["properties"]["name"],
                   "values": [format_number(f["properties"][k], WORKLOAD_DECIMALS[k], lang) for k in table_keys]}
                  for f in ordered]
    text = t("workload_summary", lang, ratio=format_number(summary.get("max_min_ratio"), 2, lang),
             gini=format_number(summary.get("gini"), 3, lang))
    attribution = attribution_of(city.manifest)
    page.html.add_child(LiteralHtml(_WORKLOAD_PANEL.render(
        t=tr, lang=lang, langs=lang_links(), city=name, summary=text, rows=table_rows,
        note=t("workload_note", lang, period=period_text(period, lang)), attribution=attribution,
        choices=[{"key": k, "label": tr[f"ind_{k}"]} for k in WORKLOAD_CHOICES],
        columns=[{"key": k, "label": tr[short[k]], "title": tr[f"ind_{k}"]} for k in table_keys],
    )), name="gs_panel", index=0)
    config = {"lang": lang, "attribution": attribution, "colours": list(WORKLOAD_COLOURS),
              "indicators": [{"key": k, "label": tr[f"ind_{k}"], "decimals": d}
                             for k, d in WORKLOAD_DECIMALS.items()],
              "t": {k: tr[k] for k in ("card_close", "no_data")},
              "sw": service_worker_url(static_url, register_service_worker)}
    add_config(page, config)
    return page.render()


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
    vmax = _nice_top(max(*values, 0.0), whole=decimals == 0)
    n = len(points)

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else w * i / (n - 1))

    def y(v: float) -> float:
        return top + h - h * v / vmax

    coords = [(x(i), y(float(v))) for i, (_, v) in enumerate(points)]
    grid = "".join(
        f'<line class="gs-grid" x1="{left}" y1="{y(vmax * k / 4):.1f}" x2="{left + w}" y2="{y(vmax * k / 4):.1f}"/>'
        f'<text class="gs-tick" x="{left - 6}" y="{y(vmax * k / 4) + 4:.1f}" text-anchor="end">'
        f'{esc(format_number(vmax * k / 4, decimals, lang))}</text>' for k in range(5))
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
        f'data-value="{esc(format_number(v, decimals, "en"))}"><title>{esc(str(label))}: '
        f'{esc(format_number(v, decimals, lang))}{esc(unit)}</title></circle>'
        for (label, v), (cx, cy) in zip(points, coords))
    return head + grid + axis + xlabels + line + dots + "</svg>"


_DASHBOARD = ENV.from_string("""<!DOCTYPE html>
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
              "values": [format_number(r.get(k), d, lang) for k, d in keys]} for r in rows]
    columns = [tr[f"dash_col_{k}"] for k, _ in keys]
    return _DASHBOARD.render(t=tr, lang=lang, langs=lang_links(), static=static_url, root=root_of(static_url),
                             city=city, charts=charts, rows=table, columns=columns, csv_url=csv_url)
