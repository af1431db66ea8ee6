"""Self-hosted front-end assets for folium maps (no CDN at run time).

folium 0.20 points every map at CDN copies of Leaflet, jQuery, Bootstrap, Font
Awesome and the plugins. The same files are vendored under ``static/vendor/``
(fetched by ``tools/vendor_assets.sh``); :func:`configure_folium` points folium at
them. It replaces the class-level ``default_js`` / ``default_css`` lists with new
lists instead of calling ``add_js_link`` / ``add_css_link``, which edit the lists
shared by every map in place. Folium's key names are kept, since folium uses them
to de-duplicate the header links.

It also makes folium treat every rendered piece as data (`LiteralHtml`, and
`_render_as_data` in place of branca's ``MacroElement.render``): branca would compile
rendered output that holds user text as a Jinja template once more.

This module is framework-free: the web app only has to serve ``static/`` so that
``static_url_prefix`` maps to :data:`VENDOR_DIR`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import folium
import jinja2
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, HeatMap, LocateControl, MarkerCluster

__all__ = ["VENDOR_DIR", "LiteralHtml", "configure_folium", "offline_map", "vendored_files"]

VENDOR_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "static" / "vendor"
"""Folder holding the vendored files, served at ``/static/vendor``."""

_Links = tuple[tuple[str, str], ...]

# class -> (default_js, default_css) as (folium key, path relative to VENDOR_DIR).
_ASSETS: Final[dict[type[JSCSSMixin], tuple[_Links, _Links]]] = {
    folium.Map: (
        (
            ("leaflet", "leaflet/dist/leaflet.js"),
            ("jquery", "jquery/dist/jquery.min.js"),
            ("bootstrap", "bootstrap/dist/js/bootstrap.bundle.min.js"),
            ("awesome_markers", "leaflet.awesome-markers/dist/leaflet.awesome-markers.js"),
        ),
        (
            ("leaflet_css", "leaflet/dist/leaflet.css"),
            ("bootstrap_css", "bootstrap/dist/css/bootstrap.min.css"),
            (
                "glyphicons_css",
                "@neos21/bootstrap3-glyphicons/dist/css/bootstrap3-glyphicons.min.css",
            ),
            ("awesome_markers_font_css", "@fortawesome/fontawesome-free/css/all.min.css"),
            ("awesome_markers_css", "leaflet.awesome-markers/dist/leaflet.awesome-markers.css"),
            ("awesome_rotate_css", "awesome-rotate/leaflet.awesome.rotate.min.css"),
        ),
    ),
    LocateControl: (
        (("Control_locate_min_js", "leaflet.locatecontrol/dist/L.Control.Locate.min.js"),),
        (("Control_locate_min_css", "leaflet.locatecontrol/dist/L.Control.Locate.min.css"),),
    ),
    Fullscreen: (
        (("Control.Fullscreen.js", "leaflet.fullscreen/Control.FullScreen.js"),),
        (("Control.FullScreen.css", "leaflet.fullscreen/Control.FullScreen.css"),),
    ),
    HeatMap: ((("leaflet-heat.js", "leaflet.heat/leaflet_heat.min.js"),), ()),
    # FastMarkerCluster inherits these lists.
    MarkerCluster: (
        (("markerclusterjs", "leaflet.markercluster/dist/leaflet.markercluster.js"),),
        (
            ("markerclustercss", "leaflet.markercluster/dist/MarkerCluster.css"),
            ("markerclusterdefaultcss", "leaflet.markercluster/dist/MarkerCluster.Default.css"),
        ),
    ),
}


def configure_folium(static_url_prefix: str = "/static/vendor") -> None:
    """Point folium's map and plugin classes at the vendored files.

    Assigns new ``default_js`` / ``default_css`` lists to :class:`folium.Map` and
    to the plugins with vendored files (``LocateControl``, ``Fullscreen``,
    ``HeatMap``, ``MarkerCluster`` and its subclass ``FastMarkerCluster``). The
    lists folium shipped are left untouched. Calling it again is harmless; the
    last prefix wins.

    Parameters
    ----------
    static_url_prefix : str, optional
        URL under which :data:`VENDOR_DIR` is served, by default ``"/static/vendor"``.

    Notes
    -----
    Any other folium plugin still points at its CDN; the "no ``http``" test
    on a rendered map catches one that is added without vendoring it first.
    """
    prefix = static_url_prefix.rstrip("/")
    for cls, (js, css) in _ASSETS.items():
        cls.default_js = [(key, f"{prefix}/{path}") for key, path in js]
        cls.default_css = [(key, f"{prefix}/{path}") for key, path in css]
    MacroElement.render = _render_as_data  # type: ignore[method-assign]


class LiteralHtml(Element):
    """Markup put into a folium page as data: printed through a variable, never compiled.

    branca's ``Element(text)`` compiles ``text`` as a Jinja template, so any text from a
    user, a file or OpenStreetMap inside it runs (``{{ ... }}``) however well it is
    HTML-escaped. This element's template is fixed and outputs ``markup`` as it is.
    """

    _template = jinja2.Template("{{ this.markup }}")

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._name = "LiteralHtml"
        self.markup = markup


def _render_as_data(self: MacroElement, **kwargs: Any) -> None:
    """branca's ``MacroElement.render`` with one change: the header, html and script its
    macros produce go into the figure as `LiteralHtml`, not as ``Element(output)``.

    branca wraps each macro's *output* (a GeoJSON layer's data with every feature's
    properties, say) in ``Element(...)``, which compiles that output as a template once
    more: a precinct or street named ``{{ 7*7 }}`` would then print 49, and a name with
    ``{% raw %}`` would fail the page. `configure_folium` installs this in its place.
    """
    figure = self.get_root()
    if not isinstance(figure, Figure):
        msg = "You cannot render this Element if it is not in a Figure."
        raise TypeError(msg)
    for part in ("header", "html", "script"):
        macro = self._template.module.__dict__.get(part)
        if macro is not None:
            getattr(figure, part).add_child(LiteralHtml(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _is_configured() -> bool:
    """Tell whether :func:`configure_folium` has replaced folium's CDN links."""
    return not any(url.startswith(("http:", "https:", "//")) for _, url in folium.Map.default_js)


def offline_map(location: Any, zoom_start: int, **kw: Any) -> folium.Map:
    """Create a :class:`folium.Map` that loads nothing from outside.

    The map has no tile layer (``tiles=None``) and keeps folium's attribution
    control. If :func:`configure_folium` has not run yet, it is run with its
    default prefix.

    Parameters
    ----------
    location : sequence of float
        Initial ``[lat, lon]`` of the map centre.
    zoom_start : int
        Initial zoom level.
    **kw : Any
        Further keyword arguments for :class:`folium.Map`, except ``tiles``.

    Returns
    -------
    folium.Map
        The new map.

    Raises
    ------
    ValueError
        If ``tiles`` is given: a tile layer would be fetched from a tile server.
    """
    if kw.pop("tiles", None) is not None:
        raise ValueError("offline_map() draws no tiles; add overlays instead")
    if not _is_configured():
        configure_folium()
    return folium.Map(location=location, zoom_start=zoom_start, tiles=None, **kw)


def vendored_files() -> list[Path]:
    """List every file folium is configured to load, as paths in :data:`VENDOR_DIR`.

    Returns
    -------
    list of pathlib.Path
        One path per ``(key, url)`` link of every configured class, in order;
        a path may not exist if the vendor folder is incomplete.
    """
    return [VENDOR_DIR / path for js, css in _ASSETS.values() for _, path in (*js, *css)]
