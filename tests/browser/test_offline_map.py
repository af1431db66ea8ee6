"""A folium page served by Flask renders in Chromium with no request leaving loopback."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geo_service.cli.maps import CHROMIUM, DESKTOP, PHONE

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

FA_LOADED = """() => [...document.fonts].some(
    f => f.family.includes("Font Awesome") && f.status === "loaded")"""


def _open_map(make: Callable[..., Any], base_url: str, **context: Any) -> Any:
    """Open ``/map`` in a guarded page and wait for markers and icon fonts."""
    g = make(**context)
    g.page.goto(f"{base_url}/map", wait_until="load")
    g.page.wait_for_selector(".leaflet-marker-pane .awesome-marker", state="attached")
    g.page.evaluate("document.fonts.ready.then(() => true)")
    return g


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_offline_map_renders(
    guarded_page: Callable[..., Any],
    base_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    device: str,
) -> None:
    g = _open_map(guarded_page, base_url, **(PHONE if device == "phone" else DESKTOP))
    page = g.page
    assert page.evaluate("L.version") == "1.9.3"
    assert page.locator(".leaflet-marker-pane .awesome-marker").count() == 2
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= 1
    assert page.locator(".leaflet-control-locate").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".leaflet-heatmap-layer").count() == 1
    assert page.evaluate(FA_LOADED), "no Font Awesome face loaded"
    shot: Path = tmp_path_factory.mktemp("screens") / f"offline-map-{device}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 5000
    print(f"screenshot: {shot}")
    assert g.problems() == {}


def test_guard_catches_a_cdn_script(guarded_page: Callable[..., Any], base_url: str) -> None:
    g = guarded_page()
    g.page.goto(f"{base_url}/cdn", wait_until="load")
    assert len(g.blocked) == 1 and g.blocked[0].startswith("https://cdn.jsdelivr.net/")
    assert g.page.evaluate("typeof L") == "undefined"
