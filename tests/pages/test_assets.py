"""Offline folium assets: every link folium emits points at a vendored file."""

from __future__ import annotations

import re
from collections.abc import Iterator

import folium
import pytest
from folium.plugins import FastMarkerCluster, Fullscreen, HeatMap, LocateControl, MarkerCluster

from geo_service.pages.assets import VENDOR_DIR, configure_folium, offline_map, vendored_files

PREFIX = "/static/vendor"
# Classes that own default_js / default_css lists which configure_folium replaces.
CLASSES: tuple[type, ...] = (folium.Map, LocateControl, Fullscreen, HeatMap, MarkerCluster)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")


@pytest.fixture
def pristine() -> Iterator[dict[type, tuple[list, list, list, list]]]:
    """Folium's own lists (object and copy); restored after the test.

    Yields
    ------
    dict
        ``cls -> (default_js, copy, default_css, copy)`` as they were before.
    """
    with pytest.MonkeyPatch.context() as mp:
        before = {}
        for cls in CLASSES:
            js, css = cls.__dict__["default_js"], cls.__dict__.get("default_css", [])
            before[cls] = (js, list(js), css, list(css))
            mp.setattr(cls, "default_js", js)
            mp.setattr(cls, "default_css", css)
        yield before


def _full_map() -> folium.Map:
    """Map with every feature the service uses."""
    m = offline_map([51.128, 71.430], 13)
    folium.GeoJson({"type": "LineString", "coordinates": [[71.41, 51.12], [71.45, 51.14]]}, name="route").add_to(m)
    folium.Marker([51.128, 71.430], icon=folium.Icon(prefix="fa", icon="car", angle=45)).add_to(m)
    folium.Marker([51.13, 71.44], icon=folium.Icon()).add_to(m)  # glyphicon prefix
    LocateControl().add_to(m)
    Fullscreen().add_to(m)
    HeatMap([[51.128, 71.430, 2.0], [51.13, 71.44, 1.0]]).add_to(m)
    MarkerCluster().add_child(folium.Marker([51.12, 71.42])).add_to(m)
    return m


def test_every_configured_link_is_a_vendored_file(pristine: dict) -> None:
    configure_folium(PREFIX)
    for cls in (*CLASSES, FastMarkerCluster):
        for key, url in [*cls.default_js, *cls.default_css]:
            assert url.startswith(PREFIX + "/"), (cls, key, url)
            path = VENDOR_DIR / url.removeprefix(PREFIX + "/")
            assert path.is_file() and path.stat().st_size > 0, (cls, key, path)


def test_folium_key_names_are_kept(pristine: dict) -> None:
    configure_folium(PREFIX)
    for cls, (js, _, css, _) in pristine.items():
        assert [k for k, _ in cls.default_js] == [k for k, _ in js], cls
        assert [k for k, _ in cls.default_css] == [k for k, _ in css], cls


def test_configure_is_idempotent_and_never_mutates_folium_lists(pristine: dict) -> None:
    configure_folium(PREFIX)
    first = {cls: (list(cls.default_js), list(cls.default_css)) for cls in CLASSES}
    configure_folium(PREFIX)
    for cls, (js, js_copy, css, css_copy) in pristine.items():
        assert (cls.default_js, cls.default_css) == first[cls]
        assert cls.default_js is not js and cls.default_css is not css
        assert js == js_copy and css == css_copy, f"{cls.__name__} lists edited in place"
    assert folium.Map.default_js is not folium.folium._default_js
    assert all(url.startswith("https://") for _, url in folium.folium._default_js)


def test_configure_prefix(pristine: dict) -> None:
    configure_folium("/assets/v/")
    assert dict(folium.Map.default_js)["leaflet"] == "/assets/v/leaflet/dist/leaflet.js"


def test_vendored_files_exist() -> None:
    files = vendored_files()
    assert len(files) == len(set(files)) == 18
    missing = [f for f in files if not f.is_file()]
    assert not missing


def test_css_url_references_resolve() -> None:
    for css in VENDOR_DIR.rglob("*.css"):
        for ref in CSS_URL.findall(css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            assert not re.match(r"^([a-z]+:)?//", ref), (css, ref)
            target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), (css, ref)


def test_icon_fonts_present() -> None:
    fonts = VENDOR_DIR / "@fortawesome/fontawesome-free/webfonts"
    for name in ("fa-solid-900", "fa-regular-400", "fa-brands-400", "fa-v4compatibility"):
        assert (fonts / f"{name}.woff2").stat().st_size > 1000
    glyph = VENDOR_DIR / "@neos21/bootstrap3-glyphicons/dist/fonts"
    assert (glyph / "glyphicons-halflings-regular.woff2").stat().st_size > 1000


def test_every_package_keeps_its_licence() -> None:
    tops = [p for p in VENDOR_DIR.iterdir() if p.is_dir() and p.name != "awesome-rotate"]
    packages = [c for p in tops for c in (p.iterdir() if p.name.startswith("@") else [p])]
    assert len(packages) == 12  # folium's ten, swagger-ui-dist, protomaps-leaflet
    for package in packages:
        assert any(package.glob("*LICEN[CS]E*")), package


def test_rendered_map_has_no_external_url(pristine: dict) -> None:
    html = _full_map().get_root().render()
    assert "http://" not in html and "https://" not in html
    assert "//cdn" not in html
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(links) >= 16
    for link in links:
        assert link.startswith(PREFIX + "/"), link
        assert (VENDOR_DIR / link.removeprefix(PREFIX + "/")).is_file(), link


def test_offline_map(pristine: dict) -> None:
    m = offline_map([51.1, 71.4], 10)  # configures folium on first use
    assert not [c for c in m._children if c.startswith("tile_layer")]
    html = m.get_root().render()
    assert "https://" not in html
    assert "attributionControl" not in html  # Leaflet's default: the control is shown
    with pytest.raises(ValueError):
        offline_map([51.1, 71.4], 10, tiles="OpenStreetMap")


def test_vendor_dir_holds_only_what_is_needed() -> None:
    # The map assets stay small; Swagger UI (the docs page only) is counted apart.
    size = sum(f.stat().st_size for f in VENDOR_DIR.rglob("*") if f.is_file() and "swagger-ui-dist" not in f.parts)
    assert size < 3_000_000, size
