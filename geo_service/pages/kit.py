"""What every page is made of: the template environment, the folium figure with its language,
the script hand-over, the language links, the shared layers and the number and date formats.

Every page loads its scripts, styles and fonts from the app's own static folder
(``static_url``): the vendored files folium uses (see `geo_service.pages.assets`) and the
page's own ``static/app/`` script and style. The only external URLs in a page are
the optional OpenStreetMap tile layer (off until a person turns it on) and the
attribution link.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, cast

import folium
import jinja2
import numpy as np
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin

from geo_service.pages.assets import VENDOR_DIR, LiteralHtml
from geo_service.pages.i18n import LANG_NAMES, LANGS

APP_DIR: Final[Path] = VENDOR_DIR.parent / "app"
"""The pages' own script and style, served at ``<static_url>/app``."""

OSM_TILES: Final[str] = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION: Final[str] = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
#: Shown when the bundle's manifest names no attribution.
DEFAULT_ATTRIBUTION: Final[str] = "© OpenStreetMap contributors"

ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
"""The pages' templates: autoescaped, block tags leave no blank lines."""


class Page(Figure):
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


class ScriptInit(MacroElement):
    """Links the page's own style and script and hands the map and layers to ``<call>``.

    Added to the map last: the map and its plugins render before this element and add
    their links first, so the page's own rules win.
    """

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
        """The layers' JavaScript names (``null`` for a layer the page does not have)."""
        return [layer.get_name() if layer is not None else "null" for layer in self.layers]

    # branca types Element.render as returning str, but MacroElement.render (this one's base) returns None.
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Link ``pages.css`` and the page's script in the head, then render the call."""
        header = cast(Figure, self.get_root()).header
        header.add_child(folium.CssLink(f"{self.static_url}/app/pages.css"), name="gs_css")
        header.add_child(folium.JavascriptLink(f"{self.static_url}/app/{self.script}"), name="gs_js")
        super().render(**kwargs)


def _json_script(element_id: str, value: Any) -> str:
    """A ``<script type="application/json">`` block (data, never executed); ``<`` escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def add_config(page: Page, config: Mapping[str, Any]) -> None:
    """Put the page script's settings in the page as ``#gs-config`` (JSON data, never template source)."""
    page.html.add_child(LiteralHtml(_json_script("gs-config", config)), name="gs_config")


def root_of(static_url: str) -> str:
    """The app root for a static URL (``/static`` -> ``/``, ``/x/static`` -> ``/x/``)."""
    return re.sub(r"static/?$", "", static_url.rstrip("/") + "/") or "/"


def service_worker_url(static_url: str, register: bool) -> str | None:
    """Where the page registers the service worker (``<root>sw.js``), or None not to register it."""
    return f"{root_of(static_url)}sw.js" if register else None


def attribution_of(manifest: Mapping[str, Any]) -> str:
    """The map data's attribution from a bundle manifest."""
    return str(manifest.get("attribution") or DEFAULT_ATTRIBUTION)


def osm_layer(tr: Mapping[str, str]) -> folium.TileLayer:
    """The OpenStreetMap tile layer, off until a person turns it on (the only external tiles)."""
    return folium.TileLayer(OSM_TILES, name=tr["layer_osm"], attr=OSM_ATTRIBUTION, overlay=True, show=False,
                            max_zoom=19)


def post_marker() -> folium.Marker:
    """The marker of a police post (a shield on dark blue)."""
    return folium.Marker(icon=folium.Icon(color="darkblue", prefix="fa", icon="shield-halved"))


#: A police post's pin: a dark blue drop with a white shield, drawn inline (no icon font, no image sprite:
#: awesome-markers' retina sprite and Font Awesome's solid font would add about 320 KB to a phone's first load).
POST_PIN_SVG: Final[str] = (
    '<svg viewBox="0 0 30 40" width="30" height="40" aria-hidden="true" focusable="false">'
    '<path d="M15 39C15 39 2 24 2 14.5a13 13 0 0 1 26 0C28 24 15 39 15 39z" fill="#1f3f77" stroke="#fff"'
    ' stroke-width="2"/><path d="M15 7.5l7 2.6v4.7c0 4.4-2.9 7.6-7 8.9-4.1-1.3-7-4.5-7-8.9v-4.7z" fill="#fff"/>'
    '<path d="M15 9.6v11.9c-2.8-1.1-4.9-3.6-4.9-6.9v-3.3z" fill="#1f3f77"/></svg>')


def post_pin() -> folium.Marker:
    """The marker of a police post on the pages a phone opens (inline SVG, class ``gs-post-icon``)."""
    icon = folium.DivIcon(html=POST_PIN_SVG, icon_size=(30, 40), icon_anchor=(15, 39), class_name="gs-post-icon")
    return folium.Marker(icon=icon)


def road_layer(data: Mapping[str, Any], tr: Mapping[str, str], *, weight: float, opacity: float) -> folium.GeoJson:
    """The grey, non-interactive road layer under a page's own layers."""
    return folium.GeoJson(data, name=tr["layer_roads"], interactive=False,
                          style_function=lambda _: {"color": "#8a9096", "weight": weight, "opacity": opacity})


class VectorBase(JSCSSMixin, MacroElement):
    """The base map from the bundle's vector tiles (``static/app/basemap.js`` over the vendored
    protomaps-leaflet): roads, precinct borders and labels, drawn under the page's layers.

    ``tiles`` is what the web layer hands the page: ``url`` (a ``{z}/{x}/{y}`` template),
    ``max_zoom`` (the archive's deepest zoom; deeper views are drawn from it) and ``bounds``
    ([minlon, minlat, maxlon, maxlat]); ``keep`` optionally lists tile URLs the service
    worker stores for offline use. With ``fill`` the precincts of the tiles are filled in a
    colour derived from their id and their names drawn (the precinct map); else only their
    borders are drawn.
    """

    _template = jinja2.Template(
        "{% macro script(this, kwargs) %}\n"
        "GeoServiceBase.add({{ this._parent.get_name() }}, {{ this.options_json }});\n"
        "{% endmacro %}\n")

    def __init__(self, tiles: Mapping[str, Any], *, static_url: str, keep: Sequence[str] = (),
                 fill: bool = False) -> None:
        super().__init__()
        self._name = "GeoServiceBase"
        x0, y0, x1, y1 = (float(v) for v in tiles["bounds"])
        options = {"url": str(tiles["url"]), "maxDataZoom": int(tiles["max_zoom"]),
                   "bounds": [[y0 - 0.05, x0 - 0.05], [y1 + 0.05, x1 + 0.05]], "keep": list(keep)}
        if fill:
            options["fill"] = True
        self.options_json = json.dumps(options, separators=(",", ":")).replace("<", "\\u003c")
        self.default_js = [("protomaps_leaflet", f"{static_url}/vendor/protomaps-leaflet/dist/protomaps-leaflet.js"),
                           ("gs_basemap", f"{static_url}/app/basemap.js")]
        self.default_css = []


def base_layer(m: folium.Map, tr: Mapping[str, str], *, tiles: Mapping[str, Any] | None, static_url: str,
               roads: Callable[[], Mapping[str, Any]], weight: float, opacity: float,
               keep: Sequence[str] = (), fill: bool = False) -> None:
    """The map's base: the vector tiles when the bundle has them, else the roads inline (`road_layer`).

    ``fill``: the tiles' precincts are filled and named (`VectorBase`)."""
    if tiles:
        m.add_child(VectorBase(tiles, static_url=static_url, keep=keep, fill=fill))
    else:
        road_layer(roads(), tr, weight=weight, opacity=opacity).add_to(m)


def city_name(manifest: Mapping[str, Any], lang: str) -> str:
    """The city's name in ``lang`` (``city_names`` of the manifest, from ``build --city-name``),
    else the bundle's slug."""
    names = manifest.get("city_names") or {}
    return str(names.get(lang) or manifest.get("city") or "") if isinstance(names, Mapping) else \
        str(manifest.get("city") or "")


def lang_links() -> list[tuple[str, str]]:
    """(code, name) of each language, for the language switch."""
    return [(c, LANG_NAMES[c]) for c in LANGS]


LANG_NAV: Final[str] = """
    <nav class="gs-lang" aria-label="{{ t.language }}">
      {% for code, label in langs %}
      <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
         {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
      {% endfor %}
    </nav>
"""
"""The language switch, as template source the page templates include (needs ``t``, ``lang``, ``langs``)."""


def day_text(date: str, lang: str) -> str:
    """An ISO date as people write it: ``01.12.2026`` (kk, ru), ``2026-12-01`` (en)."""
    if lang != "en" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        y, mo, d = date.split("-")
        return f"{d}.{mo}.{y}"
    return date


def format_number(value: Any, decimals: int, lang: str) -> str:
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


def period_text(period: Sequence[Any], lang: str) -> str:
    """``01.10.2026 – 31.10.2026`` (kk, ru) or ``2026-10-01 – 2026-10-31`` (en) for [start, end]."""
    return " – ".join(day_text(str(d)[:10], lang) for d in period)
