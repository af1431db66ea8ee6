"""The planner's page of a kept balance proposal (`geo_service.workload.balance`): the proposed
precincts coloured, the current precincts' borders over them, the blocks that change precinct
highlighted, a table per precinct with the workload per inspector and the deviation from the
target before and after, the imbalance figures before and after, and the run's parameters.

Script ``static/app/balance.js``. The result's body holds the proposed outlines (``geojson``)
and each moved block's centre (``moved_blocks``), not the blocks' shapes: `moved_areas` derives
them from the city bundle (the walking graph's cell grid that made the blocks), cut to the
proposed precinct the block joins.
"""

from __future__ import annotations

import math
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
    post_pin,
    service_worker_url,
)
from geo_service.pages.layers import light_geometry, number_or_none, precinct_colours, roads_geojson
from geo_service.pages.shell import map_controls

#: The Earth's radius the balance's block grid uses (`geo_service.workload.balance.blocks.build_blocks`).
_EARTH_M: Final[float] = 6_371_008.8
#: Colour of the outline of a block that changes precinct, and of the current borders.
MOVED_OUTLINE: Final[str] = "#b00020"
CURRENT_BORDER: Final[str] = "#1d2329"


def block_cells(city: Any, lat: Sequence[float], lon: Sequence[float], cell_m: float) -> list[Any]:
    """The square cell (shapely polygon, EPSG:4326) of the balance's block grid holding each
    block centre: the grid `geo_service.workload.balance.blocks.build_blocks` groups the
    walking graph's nodes by (``cell_m`` squares from the graph's mean latitude). A block is the
    nodes of one cell that the roads join, so its centre (the mean of its nodes) lies in its cell."""
    g = city.walk
    lat0 = float(np.mean(g.lat))
    kx = math.cos(math.radians(lat0)) * _EARTH_M * math.pi / 180
    ky = _EARTH_M * math.pi / 180
    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    cx = np.floor(lo * kx / cell_m)
    cy = np.floor(la * ky / cell_m)
    return list(shapely.box(cx * cell_m / kx, cy * cell_m / ky, (cx + 1) * cell_m / kx, (cy + 1) * cell_m / ky))


def moved_areas(city: Any, moved: Sequence[Mapping[str, Any]], cell_m: float,
                proposed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The areas that change precinct: per (before, after) pair the union of the moved blocks'
    cells, cut to the proposed precinct it joins (``proposed``: id -> shapely geometry) when the
    result has its outline (a cell lying wholly outside that outline is kept whole: its block's
    nodes are there). Returns ``[{"before", "after", "blocks", "residents", "geometry"
    (shapely)}]`` in (before, after) order."""
    if not moved:
        return []
    cells = np.asarray(block_cells(city, [float(b["lat"]) for b in moved], [float(b["lon"]) for b in moved],
                                   cell_m), dtype=object)
    keys = [(str(b.get("before") or ""), str(b.get("after") or "")) for b in moved]
    residents = np.array([float(b.get("residents") or 0.0) for b in moved])
    out = []
    for key in sorted(set(keys)):
        mine = np.array([k == key for k in keys])
        group = cells[mine]
        target = proposed.get(key[1])
        if target is None:
            geom = shapely.union_all(group)
        else:
            shapely.prepare(target)
            inside = shapely.intersects(group, target)
            geom = shapely.union_all([shapely.intersection(shapely.union_all(group[inside]), target),
                                      *group[~inside].tolist()])
        out.append({"before": key[0], "after": key[1], "blocks": int(mine.sum()),
                    "residents": float(residents[mine].sum()), "geometry": shapely.make_valid(geom)})
    return out


def _names(city: Any) -> dict[str, str]:
    return dict(zip(city.precincts["precinct_id"].astype(str), city.precincts["name"].astype(str)))


def balance_layer_data(city: Any, result: Mapping[str, Any], *, lang: str, decimals: int = 5,
                       tolerance: float = 5e-5) -> dict[str, Any]:
    """What the map draws, and nothing else: ``proposed`` (FeatureCollection: ``id``, ``name``,
    ``colour``, ``before``, ``after``: workload per inspector), ``current`` (the city's
    precincts: ``id``, ``name``), ``moved`` (`moved_areas`: ``before``, ``after`` names,
    ``blocks``, ``residents``, ``colour`` of the precinct joined), ``posts`` (``name``), and
    ``colours`` and ``names`` by proposed precinct id. Outlines are simplified within
    ``tolerance`` degrees (5e-5: about 5 m, 2 px at zoom 16) and rounded to ``decimals``."""
    names = _names(city)
    units = {str(u["precinct_id"]): u for u in result.get("precincts") or []}
    unit_names = {pid: names.get(pid) or t("balance_new_precinct", lang, id=pid) for pid in units}
    feats = [f for f in ((result.get("geojson") or {}).get("features") or []) if f.get("geometry")]
    geoms = {str((f.get("properties") or {}).get("precinct_id") or f.get("id")): shapely.geometry.shape(f["geometry"])
             for f in feats}
    order = sorted(units) if units else sorted(geoms)
    palette = precinct_colours([geoms.get(pid, shapely.Point()) for pid in order])
    colours = dict(zip(order, palette))
    proposed = []
    for pid, geom in geoms.items():
        u = units.get(pid, {})
        proposed.append({"type": "Feature", "id": pid, "properties": {
            "id": pid, "name": unit_names.get(pid, pid), "colour": colours.get(pid, "#888888"),
            "before": number_or_none(u.get("per_inspector_before"), 2),
            "after": number_or_none(u.get("per_inspector_after"), 2)},
            "geometry": light_geometry(shapely.geometry.mapping(geom), tolerance=tolerance, decimals=decimals)})
    current = [{"type": "Feature", "id": pid, "properties": {"id": pid, "name": names[pid]},
                "geometry": light_geometry(shapely.geometry.mapping(geom), tolerance=tolerance, decimals=decimals)}
               for pid, geom in zip(city.precincts["precinct_id"].astype(str), city.precincts["geometry"])]
    cell_m = float((result.get("summary") or {}).get("cell_m") or 250.0)
    areas = moved_areas(city, result.get("moved_blocks") or [], cell_m, geoms)
    moved = [{"type": "Feature", "properties": {
        "before": unit_names.get(a["before"], a["before"] or "—"),
        "after": unit_names.get(a["after"], a["after"] or "—"),
        "blocks": a["blocks"], "residents": round(a["residents"]), "colour": colours.get(a["after"], "#888888")},
        "geometry": light_geometry(shapely.geometry.mapping(a["geometry"]), tolerance=tolerance,
                                   decimals=decimals)}
        for a in areas if not a["geometry"].is_empty]
    post_ids = {p for u in units.values() for p in str(u.get("post_ids") or "").split(",") if p}
    posts = [{"type": "Feature", "properties": {"name": str(r.name)}, "geometry": {
        "type": "Point", "coordinates": [round(float(r.lon), 6), round(float(r.lat), 6)]}}
        for r in city.posts.itertuples(index=False) if not post_ids or str(r.post_id) in post_ids]
    fc = "FeatureCollection"
    return {"proposed": {"type": fc, "features": proposed}, "current": {"type": fc, "features": current},
            "moved": {"type": fc, "features": moved}, "posts": {"type": fc, "features": posts},
            "colours": colours, "names": unit_names}


def _pct(x: Any, lang: str, *, signed: bool = True) -> str:
    v = number_or_none(x, 4)
    if v is None:
        return "—"
    text = format_number(abs(v) * 100, 1 if abs(v) < 0.1 else 0, lang) + "%"
    return (("+" if v > 0 else "−" if v < 0 else "") + text) if signed else text


def _two(before: str, after: str) -> str:
    """``before → after``; a narrow column breaks the line after the arrow only."""
    return f"{before}\u00a0→ {after}"


def _table_rows(city: Any, result: Mapping[str, Any], data: Mapping[str, Any], *, lang: str) -> list[dict[str, Any]]:
    """One row per proposed precinct: name, colour, posts, inspectors, load per inspector,
    deviation from the target, residents and blocks (before → after), status."""
    summary = result.get("summary") or {}
    after = summary.get("after") or {}
    tol = float(summary.get("tolerance") or 0.10)
    held = {str(x) for x in after.get("held_back") or []}
    reasons = after.get("out_of_band") or {}
    post_names = dict(zip(city.posts["post_id"].astype(str), city.posts["name"].astype(str)))
    tol_text = _pct(tol, lang, signed=False)
    rows = []
    for u in sorted(result.get("precincts") or [], key=lambda r: str(r["precinct_id"])):
        pid = str(u["precinct_id"])
        target = float(u.get("target") or 0) or float("nan")
        dev_b, dev_a = float(u.get("load_before") or 0) / target - 1, float(u.get("load_after") or 0) / target - 1
        if pid in held:
            status, key = "held", "balance_status_held"
        elif abs(dev_a) <= tol + 1e-9:
            status, key = "ok", "balance_status_ok"
        else:
            status, key = "out", "balance_status_out"
        posts = [post_names.get(p, p) for p in str(u.get("post_ids") or "").split(",") if p]
        rows.append({
            "id": pid, "name": data["names"].get(pid, pid), "colour": data["colours"].get(pid, "#888888"),
            "posts": ", ".join(posts), "inspectors": format_number(u.get("inspectors"), 0, lang),
            "per": _two(format_number(u.get("per_inspector_before"), 2, lang),
                        format_number(u.get("per_inspector_after"), 2, lang)),
            "dev": _two(_pct(dev_b, lang), _pct(dev_a, lang)),
            "residents": _two(format_number(u.get("residents_before"), 0, lang),
                              format_number(u.get("residents_after"), 0, lang)),
            "blocks": _two(format_number(u.get("blocks_before"), 0, lang),
                           format_number(u.get("blocks_after"), 0, lang)),
            "status": status, "status_text": t(key, lang, tol=tol_text),
            # The solver's reasons are English notes: shown on the English page only.
            "reason": str(reasons.get(pid) or "") if lang == "en" else "",
        })
    return rows


def _imbalance_rows(summary: Mapping[str, Any], *, lang: str) -> list[dict[str, str]]:
    """The imbalance figures, before and after."""
    b, a = summary.get("before") or {}, summary.get("after") or {}
    n = int(summary.get("precincts") or 0)
    tol_text = _pct(float(summary.get("tolerance") or 0.10), lang, signed=False)
    excess_after = format_number(a.get("squared_excess"), 2, lang)
    if number_or_none(a.get("squared_excess_lower_bound"), 2) is not None:
        excess_after += f" (≥ {format_number(a.get('squared_excess_lower_bound'), 2, lang)})"

    def extra(fig: Mapping[str, Any]) -> str:
        e = fig.get("extra_travel") or {}
        return f"{format_number(e.get('p90_min'), 0, lang)} / {format_number(e.get('max_min'), 0, lang)}"

    return [
        {"label": t("balance_fig_ratio", lang), "before": format_number(b.get("max_min_ratio"), 2, lang),
         "after": format_number(a.get("max_min_ratio"), 2, lang)},
        {"label": t("balance_fig_gini", lang), "before": format_number(b.get("gini"), 3, lang),
         "after": format_number(a.get("gini"), 3, lang)},
        {"label": t("balance_fig_within", lang, tol=tol_text),
         "before": f"{format_number(b.get('within_tolerance'), 0, lang)} / {n}",
         "after": f"{format_number(a.get('within_tolerance'), 0, lang)} / {n}"},
        {"label": t("balance_fig_excess", lang), "before": format_number(b.get("squared_excess"), 2, lang),
         "after": excess_after},
        {"label": t("balance_fig_travel", lang), "before": format_number(b.get("max_travel_min"), 0, lang),
         "after": format_number(a.get("max_travel_min"), 0, lang)},
        {"label": t("balance_fig_extra", lang), "before": extra(b), "after": extra(a)},
    ]


def _method_key(summary: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    method = str(params.get("method") or "")
    if not method:  # a result without its inputs: the summary's description of the method
        text = str(summary.get("method") or "").lower()
        method = "mip" if "mip" in text else "voronoi" if "voronoi" in text else "grow" if "growing" in text else ""
    return f"balance_method_{method}" if method in ("grow", "mip", "voronoi") else None


def _param_rows(summary: Mapping[str, Any], params: Mapping[str, Any] | None, *, lang: str,
                created: str) -> list[dict[str, str]]:
    """The run's parameters (from the job's inputs when kept, else what the summary says)."""
    p = params or {}
    unknown = t("balance_unknown", lang)
    method = _method_key(summary, p)
    if params is None or "max_extra_travel_min" not in p:
        rule = unknown
    elif p["max_extra_travel_min"] is None:
        rule = t("balance_none", lang)
    else:
        rule = t("balance_rule_value", lang, min=format_number(p["max_extra_travel_min"], 0, lang))
    ipp = p.get("inspectors_per_post")
    inspectors = unknown if params is None else t("balance_inspectors_roster", lang) if not ipp else \
        t("balance_inspectors_given", lang, n=len(ipp))
    cut = int(summary.get("hard_border_edges_cut") or 0)
    borders = t("balance_borders_cut", lang, cut=format_number(cut, 0, lang)) if p.get("hard_borders") or cut else \
        t("balance_none", lang)
    seconds = (summary.get("timings") or {}).get("total_s")
    contiguous = summary.get("contiguous")
    return [
        {"label": t("balance_param_created", lang), "value": created},
        {"label": t("balance_param_tolerance", lang),
         "value": "±" + _pct(summary.get("tolerance"), lang, signed=False)},
        {"label": t("balance_param_method", lang), "value": t(method, lang) if method else unknown},
        {"label": t("balance_param_rule", lang), "value": rule},
        {"label": t("balance_param_inspectors", lang), "value": inspectors},
        {"label": t("balance_param_borders", lang), "value": borders},
        {"label": t("balance_param_cell", lang), "value": t("balance_metres", lang,
                                                            m=format_number(summary.get("cell_m"), 0, lang))},
        {"label": t("balance_param_size", lang), "value": " / ".join(
            format_number(summary.get(k), 0, lang) for k in ("posts", "precincts", "blocks"))},
        {"label": t("balance_param_contiguous", lang),
         "value": unknown if contiguous is None else t("balance_yes" if contiguous else "balance_no", lang)},
        {"label": t("balance_param_seconds", lang), "value": t("balance_seconds", lang,
                                                               s=format_number(seconds, 1, lang))},
    ]


_BALANCE_PANEL = ENV.from_string("""
<header class="gs-panel" id="gs-panel">
  <div class="gs-head">
    <h1 class="gs-title">{{ t.balance_title }} · {{ city }}</h1>
""" + LANG_NAV + """
  </div>
  <p class="gs-route-sum" id="gs-summary">{{ summary }}</p>
  <ul class="gs-key" id="gs-balance-key">
    <li><span class="gs-swatch gs-swatch-proposed"></span>{{ t.balance_layer_proposed }}</li>
    <li><span class="gs-swatch gs-swatch-current"></span>{{ t.balance_layer_current }}</li>
    <li><span class="gs-swatch gs-swatch-moved"></span>{{ t.balance_layer_moved }}</li>
  </ul>
  <p class="gs-demo">{{ t.balance_note }}</p>
  {% if no_geometry %}<p class="gs-warn">{{ t.balance_no_geometry }}</p>{% endif %}
</header>
<section class="gs-card" id="gs-card" hidden></section>
<details class="gs-stops gs-workload gs-balance" id="gs-workload" open>
  <summary>{{ t.balance_table }} ({{ rows|length }})</summary>
  <div class="gs-scroll">
  <table class="gs-marginal gs-wl-table gs-bal-table" id="gs-bal-table">
    <thead><tr><th scope="col">{{ t.col_precinct }}</th>
      <th scope="col" class="gs-num-cell" title="{{ t.balance_col_inspectors_title }}">{{ t.balance_col_inspectors }}</th>
      <th scope="col" class="gs-num-cell" title="{{ t.balance_col_per_insp_title }}">{{ t.balance_col_per_insp }}</th>
      <th scope="col" class="gs-num-cell" title="{{ t.balance_col_dev_title }}">{{ t.balance_col_dev }}</th>
      <th scope="col" class="gs-num-cell">{{ t.balance_col_residents }}</th>
      <th scope="col" class="gs-num-cell">{{ t.balance_col_blocks }}</th></tr></thead>
    <tbody>
      {% for r in rows %}
      <tr data-precinct="{{ r.id }}" class="gs-bal-{{ r.status }}">
        <th scope="row"><button type="button" class="gs-wl-go" data-precinct="{{ r.id }}"><span class="gs-swatch" style="background-color: {{ r.colour }}"></span>{{ r.name }}</button>
          {% if r.posts %}<span class="gs-bal-post" title="{{ t.balance_col_posts }}">{{ r.posts }}</span>{% endif %}
          <span class="gs-bal-status">{{ r.status_text }}</span>{% if r.reason %}<small class="gs-bal-reason">{{ r.reason }}</small>{% endif %}</th>
        <td class="gs-num-cell gs-bal-insp"><span class="gs-bal-label">{{ t.balance_col_inspectors_title }}</span>{{ r.inspectors }}</td>
        <td class="gs-num-cell gs-bal-per"><span class="gs-bal-label">{{ t.balance_col_per_insp }}</span>{{ r.per }}</td>
        <td class="gs-num-cell gs-bal-dev"><span class="gs-bal-label">{{ t.balance_col_dev }}</span>{{ r.dev }}</td>
        <td class="gs-num-cell gs-bal-res"><span class="gs-bal-label">{{ t.balance_col_residents }}</span>{{ r.residents }}</td>
        <td class="gs-num-cell gs-bal-blk"><span class="gs-bal-label">{{ t.balance_col_blocks }}</span>{{ r.blocks }}</td></tr>
      {% endfor %}
    </tbody>
  </table>
  </div>
  <h2 class="gs-card-sub">{{ t.balance_imbalance }}</h2>
  <table class="gs-marginal gs-bal-figures" id="gs-bal-figures">
    <thead><tr><th scope="col">{{ t.balance_col_figure }}</th><th scope="col" class="gs-num-cell">{{ t.balance_col_before }}</th>
      <th scope="col" class="gs-num-cell">{{ t.balance_col_after }}</th></tr></thead>
    <tbody>{% for f in figures %}<tr><th scope="row">{{ f.label }}</th><td class="gs-num-cell">{{ f.before }}</td><td class="gs-num-cell">{{ f.after }}</td></tr>{% endfor %}</tbody>
  </table>
  <h2 class="gs-card-sub">{{ t.balance_params }}</h2>
  <dl class="gs-facts gs-bal-params" id="gs-bal-params">
    {% for p in params %}<dt>{{ p.label }}</dt><dd>{{ p.value }}</dd>{% endfor %}
  </dl>
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</details>
""")  # noqa: E501 - template markup: one line per element, as the page reads


def balance_page(city: Any, result: Mapping[str, Any], *, lang: str, params: Mapping[str, Any] | None = None,
                 created_at: str = "", static_url: str = "/static", roads: Mapping[str, Any] | None = None,
                 tiles: Mapping[str, Any] | None = None, register_service_worker: bool = True) -> str:
    """The planner's map of a kept balance proposal.

    Parameters
    ----------
    city : CityBundle
        Its manifest, ``precincts`` (the current borders), ``posts`` (names, pins) and
        ``walk`` (the block grid of the moved areas; the roads without ``tiles``).
    result
        The result's body (`geo_service.workload.balance.BalanceResult.to_dict`): ``summary``,
        ``precincts``, ``moved_blocks`` and ``geojson``.
    params
        The run's inputs as the job kept them (``tolerance``, ``method``,
        ``max_extra_travel_min``, ``inspectors_per_post``, ``hard_borders``); None when not kept
        (the page then says "not recorded" where the summary cannot tell).
    created_at
        When the result was made (ISO time), shown with the parameters.
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`), drawn instead of ``roads``.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    name = city_name(city.manifest, lang)
    page = Page(lang=lang, title=f"{tr['balance_title']} · {name}", body_class="gs-workload-page gs-balance-page")
    # The table's own rules (a card per precinct on a phone); folium's sheets and pages.css come after it.
    page.header.add_child(folium.CssLink(f"{static_url}/app/balance.css"), name="gs_balance_css")
    data = balance_layer_data(city, result, lang=lang)
    _add_map(page, city, data, tr=tr, static_url=static_url, roads=roads, tiles=tiles)
    summary = result.get("summary") or {}
    text = t("balance_summary", lang, moved=format_number(summary.get("moved_blocks") or 0, 0, lang),
             residents=format_number(summary.get("moved_residents") or 0, 0, lang))
    attribution = attribution_of(city.manifest)
    created = created_at[:16].replace("T", " ") + " UTC" if created_at else "—"
    page.html.add_child(LiteralHtml(_BALANCE_PANEL.render(
        t=tr, lang=lang, langs=lang_links(), city=name, summary=text, attribution=attribution,
        rows=_table_rows(city, result, data, lang=lang), figures=_imbalance_rows(summary, lang=lang),
        params=_param_rows(summary, params, lang=lang, created=created),
        no_geometry=not data["proposed"]["features"])), name="gs_panel", index=0)
    add_config(page, {"lang": lang, "attribution": attribution,
                      "t": {k: tr[k] for k in ("balance_tip_moved", "balance_tip_precinct")},
                      "sw": service_worker_url(static_url, register_service_worker)})
    return page.render()


def _add_map(page: Page, city: Any, data: Mapping[str, Any], *, tr: Mapping[str, str], static_url: str,
             roads: Mapping[str, Any] | None, tiles: Mapping[str, Any] | None) -> folium.Map:
    """The map: base, proposed precincts (filled), current borders, moved blocks, posts."""
    shapes = [shapely.geometry.shape(f["geometry"]) for key in ("proposed", "current")
              for f in data[key]["features"]]
    if shapes:
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(shapes, dtype=object)).tolist()
    else:
        x0, y0, x1, y1 = city.manifest["bbox"]
    m = offline_map([(y0 + y1) / 2, (x0 + x1) / 2], 13, control_scale=True)
    page.add_child(m)
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1, opacity=0.6,
               roads=lambda: roads if roads is not None else roads_geojson(city.walk))
    proposed = folium.GeoJson(data["proposed"], name=tr["balance_layer_proposed"],
                              style_function=lambda f: {"color": f["properties"]["colour"], "weight": 1,
                                                        "fillColor": f["properties"]["colour"], "fillOpacity": 0.45})
    proposed.add_to(m)
    current = folium.GeoJson(data["current"], name=tr["balance_layer_current"],
                             style_function=lambda _: {"color": CURRENT_BORDER, "weight": 2.5, "dashArray": "6 4",
                                                       "fill": False, "opacity": 0.9})
    current.add_to(m)
    moved = None
    if data["moved"]["features"]:
        moved = folium.GeoJson(data["moved"], name=tr["balance_layer_moved"],
                               style_function=lambda f: {"color": MOVED_OUTLINE, "weight": 1.5,
                                                         "fillColor": f["properties"]["colour"], "fillOpacity": 0.85})
        moved.add_to(m)
    posts = None
    if data["posts"]["features"]:
        posts = folium.GeoJson(data["posts"], name=tr["layer_posts"], marker=post_pin())
        posts.add_to(m)
    osm = osm_layer(tr)
    osm.add_to(m)
    map_controls(m, tr)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(ScriptInit("GeoServiceBalance.init", [proposed, current, moved, posts, osm], static_url=static_url,
                           script="balance.js"))
    return m
