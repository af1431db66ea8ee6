"""Fixtures for real-browser tests: a local Flask app and a loopback-only Chromium.

Uses Debian's ``/usr/bin/chromium`` through Playwright; nothing is downloaded.
Playwright is imported inside the fixtures, so this file loads on a machine
without it (``test_offline_map.py`` then skips).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from geo_service.cli.maps import CHROMIUM, CHROMIUM_ARGS, LOOPBACK, serve_in_thread

STATIC_DIR = Path(__file__).resolve().parents[2] / "geo_service" / "static"
CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"


def _map_html() -> str:
    """Offline folium page: a GeoJSON line, two awesome markers, locate, fullscreen, heat."""
    import folium
    from folium.plugins import Fullscreen, HeatMap, LocateControl

    from geo_service.pages.assets import configure_folium, offline_map

    configure_folium("/static/vendor")
    m = offline_map([51.128, 71.430], 13)
    folium.GeoJson(
        {"type": "LineString", "coordinates": [[71.405, 51.120], [71.430, 51.128], [71.455, 51.136]]},
        name="patrol route",
        style_function=lambda _: {"color": "#c0392b", "weight": 5},
    ).add_to(m)
    folium.Marker(
        [51.128, 71.430], tooltip="Inspector", icon=folium.Icon(color="blue", prefix="fa", icon="user")
    ).add_to(m)
    folium.Marker([51.136, 71.455], tooltip="Call", icon=folium.Icon(color="red", prefix="fa", icon="car")).add_to(m)
    LocateControl().add_to(m)
    Fullscreen().add_to(m)
    HeatMap([[51.124, 71.42, 1.0], [51.125, 71.421, 3.0]], radius=20).add_to(m)
    return m.get_root().render()


def _make_app() -> Any:
    """Tiny Flask app serving ``geo_service/static`` and the test pages.

    The map page is rendered once here, with folium's class-level link lists
    restored afterwards, so no other test sees them configured.
    """
    import folium
    from flask import Flask
    from folium.plugins import Fullscreen, HeatMap, LocateControl, MarkerCluster

    with pytest.MonkeyPatch.context() as mp:
        for cls in (folium.Map, LocateControl, Fullscreen, HeatMap, MarkerCluster):
            mp.setattr(cls, "default_js", cls.default_js)
            mp.setattr(cls, "default_css", cls.default_css)
        map_html = _map_html()

    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.add_url_rule("/map", "map", lambda: map_html)
    app.add_url_rule("/cdn", "cdn", lambda: f'<!doctype html><title>cdn</title><script src="{CDN_SCRIPT}"></script>')
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))
    return app


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """Serve the app on 127.0.0.1 at a free port from a daemon thread.

    Yields
    ------
    str
        ``http://127.0.0.1:PORT``.
    """
    with serve_in_thread(_make_app()) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium launched by Playwright (never a downloaded browser).

    Yields
    ------
    playwright.sync_api.Browser
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Guarded:
    """A page whose context only reaches loopback, with what went wrong recorded."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        """Return the non-empty problem lists by name."""
        lists = {
            "blocked": self.blocked,
            "console_errors": self.console_errors,
            "page_errors": self.page_errors,
            "bad_responses": self.bad_responses,
        }
        return {k: v for k, v in lists.items() if v}


def _allowed(url: str) -> bool:
    """Tell whether a request may leave the page: loopback, ``data:`` or ``blob:`` only."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOOPBACK


@pytest.fixture
def guarded_page(browser: Any) -> Iterator[Callable[..., Guarded]]:
    """Factory of guarded pages; ``**context_options`` go to ``browser.new_context``.

    Yields
    ------
    callable
        ``make(**context_options) -> Guarded``.
    """
    contexts: list[Any] = []

    def make(**context_options: Any) -> Guarded:
        context = browser.new_context(service_workers="block", **context_options)
        contexts.append(context)
        page = context.new_page()
        g = Guarded(page)

        def route(r: Any) -> None:
            if _allowed(r.request.url):
                r.continue_()
            else:
                g.blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and g.console_errors.append(m.text))
        page.on("pageerror", lambda e: g.page_errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and g.bad_responses.append(f"{r.status} {r.url}"))
        return g

    yield make
    for context in contexts:
        context.close()
