"""The residents' page of one precinct (open reporting, no personal data beyond the inspector
card): the inspector, the post, reception hours and last month's figures, printable for a
residents' meeting.

Its script is ``static/app/public.js``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium
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
    day_text,
    format_number,
    lang_links,
    osm_layer,
    period_text,
    post_pin,
    root_of,
)
from geo_service.pages.layers import RoadIndex, light_geometry, number_or_none, roads_geojson
from geo_service.pages.route import nav_links
from geo_service.pages.shell import map_controls


def _tel(phone: str) -> str:
    """A ``tel:`` link for a phone number as people write it."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


_PUBLIC_HEAD = ENV.from_string("""
<header class="gs-pub-head">
  <div class="gs-head">
    <p class="gs-pub-kicker">{{ t.pub_kicker }}{% if city %} · {{ city }}{% endif %}</p>
""" + LANG_NAV + """
  </div>
  <h1 class="gs-pub-title">{{ name }}</h1>
  {% if provisional %}<p class="gs-pub-provisional"><span class="gs-badge gs-badge-derived">{{ t.derived }}</span> {{ t.pub_provisional }}</p>{% endif %}
  <aside class="gs-pub-emergency" id="gs-pub-emergency" aria-labelledby="gs-emergency-title">
    <p class="gs-pub-emergency-title" id="gs-emergency-title">{{ t.pub_emergency_title }}</p>
    <a class="gs-pub-102" id="gs-pub-102" href="tel:102">{{ t.pub_emergency_call }}</a>
    <p class="gs-pub-emergency-note">{{ t.pub_emergency_note }}</p>
  </aside>
  <button type="button" class="gs-button gs-print" id="gs-print">{{ t.print }}</button>
</header>
""")  # noqa: E501 - template markup: one line per element, as the page reads


_PUBLIC_BODY = ENV.from_string("""
<main class="gs-pub-body">
  <section class="gs-pub-section gs-no-print" id="gs-pub-locate">
    <h2 class="gs-card-sub">{{ t.pub_locate_title }}</h2>
    <button type="button" class="gs-button gs-pub-locate" id="gs-locate">{{ t.pub_locate_button }}</button>
    <p class="gs-note">{{ t.pub_locate_note }}</p>
    <div class="gs-pub-locate-result" id="gs-locate-result" role="status" aria-live="polite"></div>
  </section>
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
    {% if post %}<p class="gs-pub-name">{{ post.name }}</p>
    <p class="gs-pub-address">{% if post.address %}{{ t.stop_address }}: {{ post.address }}{% else %}{{ t.pub_no_address }}{% endif %}</p>
    <p class="gs-card-sub">{{ t.pub_post_hours }}</p>
    {% if hours %}<ul class="gs-pub-hours" id="gs-pub-hours">{% for h in hours %}<li>{{ h }}</li>{% endfor %}</ul>
    {% else %}<p class="gs-pub-hours gs-note" id="gs-pub-hours">{{ t.pub_hours_not_given }}</p>{% endif %}
    {% if post.nav %}<p class="gs-card-sub gs-no-print">{{ t.pub_directions }}</p>
    <div class="gs-nav-links gs-no-print" role="group" aria-label="{{ t.pub_directions }}">
      <a class="gs-nav gs-nav-geo" href="{{ post.nav.geo }}">{{ t.nav_geo }}</a>
      <a class="gs-nav gs-nav-2gis" href="{{ post.nav['2gis'] }}" target="_blank" rel="noopener noreferrer">{{ t.nav_2gis }}</a>
      <a class="gs-nav gs-nav-yandex" href="{{ post.nav.yandex }}" target="_blank" rel="noopener noreferrer">{{ t.nav_yandex }}</a>
    </div>{% endif %}
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
    <p class="gs-no-print"><a id="gs-pub-map-link" href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></p>
  </footer>
</main>
""")  # noqa: E501 - template markup: one line per element, as the page reads


def public_precinct_page(city: Any, info: Mapping[str, Any], precinct: Mapping[str, Any],
                         figures: Mapping[str, Any], *, lang: str, period: Sequence[Any], generated: str,
                         static_url: str = "/static", road_index: RoadIndex | None = None,
                         tiles: Mapping[str, Any] | None = None, api_url: str = "/api/v1") -> str:
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
    tiles
        The bundle's vector tiles (`geo_service.pages.kit.VectorBase`), drawn instead of the roads.
    api_url
        Where the public lookup API is: "use my location" posts the browser's position to
        ``<api_url>/lookup`` (in the body, never in a URL) and links the precinct it falls in.
    """
    static_url = static_url.rstrip("/")
    configure_folium(f"{static_url}/vendor")
    tr = catalog(lang)
    name = str(info["precinct"]["name"])
    page = Page(lang=lang, title=f"{name} · {tr['pub_kicker']}", body_class="gs-public-page")
    post = info.get("post")
    _add_public_map(page, city, precinct, post, tr=tr, road_index=road_index, static_url=static_url, tiles=tiles)

    inspectors = [{"name": str(i.get("name") or ""), "rank": str(i.get("rank") or ""),
                   "phone": str(i.get("phone") or ""), "tel": _tel(str(i.get("phone") or "")),
                   "reception_hours": str(i.get("reception_hours") or "")} for i in info.get("inspectors") or []]
    attribution = attribution_of(city.manifest)
    official = info["precinct"].get("source") == "official" or info["precinct"].get("official") is True
    page.html.add_child(LiteralHtml(_PUBLIC_HEAD.render(t=tr, lang=lang, langs=lang_links(), name=name,
                                                        city=city_name(city.manifest, lang),
                                                        provisional=not official)),
                        name="gs_head", index=0)
    page.html.add_child(LiteralHtml(_PUBLIC_BODY.render(
        t=tr, lang=lang, inspectors=inspectors,
        post=_post_card(post), hours=reception_hours(post, info.get("inspectors") or []),
        figures=_figure_rows(figures, tr=tr, lang=lang), received=int(figures.get("received") or 0),
        figures_title=t("pub_figures", lang, period=period_text(period, lang)),
        generated=t("pub_generated", lang, date=day_text(generated, lang)), attribution=attribution,
        root=root_of(static_url))), name="gs_body")
    add_config(page, {"lang": lang, "attribution": attribution, "sw": None, "api": api_url.rstrip("/"),
                      "precinct": str(info["precinct"].get("id") or ""), "root": root_of(static_url),
                      "t": {k: tr[k] for k in _SCRIPT_KEYS}})
    return page.render()


#: Texts the page script shows ("use my location").
_SCRIPT_KEYS: Final[tuple[str, ...]] = (
    "pub_locating", "pub_locate_checking", "pub_locate_here", "pub_locate_other", "pub_locate_other_link",
    "pub_locate_outside", "pub_locate_accuracy", "pub_locate_denied", "pub_locate_unavailable",
    "pub_locate_unsupported", "pub_locate_failed", "pub_locate_you", "pub_search_map")


def reception_hours(post: Mapping[str, Any] | None, inspectors: Sequence[Mapping[str, Any]]) -> list[str]:
    """When the post receives residents: the post's own ``reception_hours`` when its data
    has them, else each distinct ``reception_hours`` of the precinct's inspectors (the roster's
    column: they receive at the post), in roster order. Empty when nothing says (the page then
    says the hours are not given; it never invents them)."""
    own = str((post or {}).get("reception_hours") or "").strip()
    if own:
        return [own]
    out: list[str] = []
    for ins in inspectors:
        h = str(ins.get("reception_hours") or "").strip()
        if h and h.lower() not in ("nan", "none") and h not in out:
            out.append(h)
    return out


def _post_card(post: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The post's name, address and directions links (built from its coordinates only)."""
    if not post:
        return None
    nav = nav_links(float(post["lat"]), float(post["lon"])) if post.get("lat") is not None and \
        post.get("lon") is not None else None
    return {"name": str(post.get("name") or ""), "address": str(post.get("address") or ""), "nav": nav}


def _add_public_map(page: Page, city: Any, precinct: Mapping[str, Any], post: Mapping[str, Any] | None, *,
                    tr: Mapping[str, str], road_index: RoadIndex | None, static_url: str,
                    tiles: Mapping[str, Any] | None) -> None:
    """The map: the precinct boundary, the roads around it and the post."""
    geometry = light_geometry(precinct["geometry"], tolerance=0)
    x0, y0, x1, y1 = shapely.bounds(shapely.geometry.shape(geometry)).tolist()
    if post and post.get("lat") is not None:
        x0, y0 = min(x0, float(post["lon"])), min(y0, float(post["lat"]))
        x1, y1 = max(x1, float(post["lon"])), max(y1, float(post["lat"]))
    m = offline_map([(y0 + y1) / 2, (x0 + x1) / 2], 14, control_scale=True)
    page.add_child(m)
    around = [x0 - 0.003, y0 - 0.003, x1 + 0.003, y1 + 0.003]
    base_layer(m, tr, tiles=tiles, static_url=static_url, weight=1, opacity=0.7,
               roads=lambda: (road_index if road_index is not None else RoadIndex(roads_geojson(city.walk))).within(
                   around))
    boundary = folium.GeoJson({"type": "Feature", "properties": {}, "geometry": geometry}, name=tr["layer_precinct"],
                              interactive=False,
                              style_function=lambda _: {"color": "#0b57d0", "weight": 3, "fillColor": "#0b57d0",
                                                        "fillOpacity": 0.12})
    boundary.add_to(m)
    post_layer = None
    if post and post.get("lat") is not None and post.get("lon") is not None:
        post_layer = folium.GeoJson(
            {"type": "Feature", "properties": {"name": str(post.get("name") or "")}, "geometry": {
                "type": "Point", "coordinates": [round(float(post["lon"]), 6), round(float(post["lat"]), 6)]}},
            name=tr["post"], marker=post_pin())
        post_layer.add_to(m)
    osm = osm_layer(tr)
    osm.add_to(m)
    map_controls(m, tr, fullscreen=False)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    m.add_child(ScriptInit("GeoServicePublic.init", [boundary, post_layer, osm], static_url=static_url,
                           script="public.js"))


def _figure_rows(figures: Mapping[str, Any], *, tr: Mapping[str, str], lang: str) -> list[dict[str, str]]:
    """Last month's figures as (label, value) rows; ``—`` for what is not known."""
    median = figures.get("first_contact_median_h")
    contact = t("hours", lang, value=format_number(median, 1, lang)) if number_or_none(median, 1) is not None else "—"
    return [
        {"label": tr["fig_received"], "value": format_number(figures.get("received") or 0, 0, lang)},
        {"label": tr["fig_closed"], "value": format_number(figures.get("closed") or 0, 0, lang)},
        {"label": tr["fig_first_contact"], "value": contact},
        # — until visits are recorded
        {"label": tr["fig_visits"], "value": format_number(figures.get("visits"), 0, lang)},
    ]
