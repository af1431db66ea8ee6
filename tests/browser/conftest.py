"""Fixtures for real-browser tests: a local Flask app and a loopback-only Chromium.

Uses Debian's ``/usr/bin/chromium`` through Playwright; nothing is downloaded.
Playwright is imported inside the fixtures, so this file loads on a machine
without it (the tests that ask for ``browser`` then skip, with the reason).

- ``browser``, ``guarded_page``: Chromium, and pages that only reach loopback, with what went
  wrong recorded (`Guarded`; ``Guarded.sign_in`` signs the page's browser in with a token).
- ``tiny_city``: the real app over the tiny city (`tests.conftest.tiny_city_xml`, its two
  official precincts), built once per roster, served on a free loopback port (`BrowserCity`:
  tokens, a plan for today and its link, a balance proposal, through the API).
- ``maps_dir``: ``maps/`` when ``GEO_SERVICE_SAVE_SCREENSHOTS=1``, else a temporary folder.
- ``base_url``: a tiny app serving the static folder and an offline folium page.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from geo_service import clock
from geo_service.cli.maps import CHROMIUM, CHROMIUM_ARGS, LOOPBACK, serve_in_thread
from tests.conftest import TWO_PRECINCTS, grid_latlon, polygon, tiny_city_xml

REPO = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO / "geo_service" / "static"
CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
_LAT, _LON = grid_latlon(0.3, 0.3)
#: The tiny city's rosters, by where its posts come from (`tiny_city`'s ``posts``): ``"roster"``,
#: UI-1 of P-01 at the post the roster places (with its address; the city's one post) and UI-2 of
#: P-02 without post coordinates; ``"osm"``, reception hours but no post coordinates, so the posts
#: are the extract's two police objects.
ROSTERS: Mapping[str, str] = {
    "roster": "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address\n"
    f'UI-1,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00,{_LAT:.6f},{_LON:.6f},"Абая 150"\n'
    "UI-2,P-02,Айгүл Сейітова,капитан полиции,+7 727 000 0002,Ср/Пт 17:00-20:00,,,\n",
    "osm": "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours\n"
    "UI-1,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00\n"
    "UI-2,P-02,Айгүл Сейітова,капитан полиции,+7 727 000 0002,Ср/Пт 17:00-20:00\n",
}
#: What every `tiny_city` app is configured with, besides its bundle and a SQLite store file of its
#: own, unless the test says otherwise (None drops a key): public API limits lifted, no bundle polling.
TINY_APP_CONFIG: Mapping[str, Any] = {"TESTING": True, "RATELIMIT_PUBLIC": "10000/minute", "BUNDLE_POLL_SECONDS": 0}


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

    def sign_in(self, token: str, *, at: str | None = None) -> None:
        """Sign this page's browser in with ``token`` through the sign-in form: the page it is on
        (a page that sent it to sign in), or the page at the URL ``at`` first. Waits for the
        page the form leads to."""
        if at is not None:
            self.page.goto(at, wait_until="load")
        self.page.fill("#gs-token", token)
        with self.page.expect_navigation(wait_until="load"):
            self.page.click("form[action*='sign-in'] button[type=submit] >> nth=0")

    def poll(self, expression: str, *, timeout_s: float = 15.0) -> None:
        """Evaluate ``expression`` until it is truthy (``wait_for_function`` evaluates strings,
        which the pages' CSP forbids)."""
        deadline = time.monotonic() + timeout_s
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            self.page.wait_for_timeout(100)


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


@pytest.fixture(scope="session")
def maps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a test puts the screenshots the README shows: ``maps/`` when
    ``GEO_SERVICE_SAVE_SCREENSHOTS=1``, else a temporary folder."""
    if os.environ.get("GEO_SERVICE_SAVE_SCREENSHOTS") == "1":
        path = REPO / "maps"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("maps")


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``bundle(posts) -> Path``: the tiny city with its two official precincts (``TWO_PRECINCTS``,
    named "Участок <id>") and the roster ``ROSTERS[posts]``, built once per roster."""
    from geo_service.ingest.build import BuildOptions, build_city

    built: dict[str, Path] = {}

    def bundle(posts: str) -> Path:
        if posts not in built:
            d = tmp_path_factory.mktemp(f"tiny-city-{posts}")
            (d / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
            features = [{"type": "Feature", "properties": {"precinct_id": pid, "name": f"Участок {pid}"},
                         "geometry": {"type": "Polygon", "coordinates": polygon(*rect)}}
                        for pid, rect in TWO_PRECINCTS.items()]
            (d / "precincts.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
            (d / "roster.csv").write_text(ROSTERS[posts], encoding="utf-8")
            build_city(BuildOptions(osm=d / "tiny.osm", out=d / "bundle", precincts=d / "precincts.geojson",
                                    roster=d / "roster.csv", city="tiny"))
            built[posts] = d / "bundle"
        return built[posts]

    return bundle


@dataclass
class BrowserCity:
    """The app over a tiny city's bundle, served at ``url``; what a test makes through its API."""

    app: Any
    url: str
    bundle: Path

    @property
    def posts(self) -> list[str]:
        """The bundle's post ids, in its order."""
        return self.app.extensions["geo_service"].posts.post_id.astype(str).tolist()

    def token(self, role: str, *, name: str, subject: str | None = None, precincts: tuple[str, ...] = ()) -> str:
        """A new user token (what an admin gives a person to sign in with)."""
        from geo_service.web.context import STORE_EXT

        return self.app.extensions[STORE_EXT].create_credential(name=name, role=role, kind="user_token",
                                                                subject=subject, precinct_ids=precincts)[1]

    def plan_for_today(self, token: str, *, inspector: str = "UI-1", stops: int = 3) -> str:
        """A kept plan of today (the app's time zone) with ``stops`` visits in P-01; its id."""
        tz = ZoneInfo(self.app.config.get("TIME_ZONE") or "Asia/Almaty")
        visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[0],
                   "lon": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[1], "minutes": 10} for k in range(stops)]
        resp = self.app.test_client().post("/api/v1/routes/plan", headers=_bearer(token), json={
            "inspector_id": inspector, "date": clock.now().astimezone(tz).date().isoformat(), "visits": visits})
        assert resp.status_code == 201, resp.json
        return str(resp.json["id"])

    def link(self, plan_id: str, token: str, **body: Any) -> str:
        """A signed link to the plan (``/r/...``); ``body`` as the API takes it (``expires_in``)."""
        resp = self.app.test_client().post(f"/api/v1/routes/plans/{plan_id}/link", headers=_bearer(token), json=body)
        assert resp.status_code == 201, resp.json
        return str(resp.json["url"])

    def balance(self, token: str, inspectors_per_post: Mapping[str, int], **body: Any) -> dict[str, Any]:
        """A kept balance proposal (the API's answer: ``id``, ``precincts``, ``moved_blocks``, ...)."""
        resp = self.app.test_client().post("/api/v1/workload/balance", headers=_bearer(token), json={
            "tolerance": 0.1, "inspectors_per_post": dict(inspectors_per_post), **body})
        assert resp.status_code == 201, resp.json
        return dict(resp.json)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tiny_city(tiny_bundle: Callable[[str], Path],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., BrowserCity]]:
    """``city(posts="roster", **config) -> BrowserCity``: a new app (``create_app``) over the tiny
    city's bundle with the roster ``ROSTERS[posts]``, its own SQLite store file and `TINY_APP_CONFIG`
    overridden by ``config`` (a None value drops the key), served on a free loopback port until
    the module's tests are done.

    Yields
    ------
    callable
    """
    from geo_service import create_app

    with contextlib.ExitStack() as servers:

        def city(posts: str = "roster", **config: Any) -> BrowserCity:
            bundle = tiny_bundle(posts)
            store = tmp_path_factory.mktemp("tiny-store") / "gs.db"
            settings = {**TINY_APP_CONFIG, "BUNDLE": str(bundle), "DATABASE_URL": f"sqlite:///{store}", **config}
            app = create_app({k: v for k, v in settings.items() if v is not None})
            return BrowserCity(app, servers.enter_context(serve_in_thread(app)), bundle)

        yield city
