"""The siting map's waiting page in Chromium (issue 20): while a ``siting_map`` job draws the
service areas the page says so in its language, polls the job with the page's credentials and
turns into the map by itself when the job is done; a failed job is said so, readably.

The app is the real one over the tiny city (`tests.browser.test_pages.pages_server`) with
every result counted "big" (``SITING_MAP_INLINE_WORK`` 1), and the isochrones held back until
the test has looked at the waiting page. The desktop screenshot goes to
``maps/siting-waiting-desktop.png`` when ``GEO_SERVICE_SAVE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geo_service.cli.maps import CHROMIUM, DESKTOP
from geo_service.siting import map_layers

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

from tests.browser import test_pages as shared  # noqa: E402 - after the skips

pages_server = shared.pages_server  # the shared app fixture (its own instance in this module)
_bearer = shared._bearer

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


def _shot(tmp_path: Path) -> Path:
    if os.environ.get("GEO_SERVICE_SAVE_SCREENSHOTS") == "1":
        return REPO / "maps" / "siting-waiting-desktop.png"
    return tmp_path / "siting-waiting-desktop.png"


def _result(app: Any, planner: dict[str, str]) -> str:
    resp = app.test_client().post("/api/v1/siting/solve", headers=planner,
                                  json={"model": "mclp", "minutes": 2, "p": 2, "existing": "posts"})
    assert resp.status_code == 201, resp.json
    return str(resp.json["id"])


def test_the_waiting_page_turns_into_the_map(guarded_page: Callable[..., Any], pages_server: tuple[Any, str],
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app, url = pages_server
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)
    gate, real = threading.Event(), map_layers.isochrone

    def held(*a: Any, **k: Any) -> Any:
        assert gate.wait(60)
        return real(*a, **k)

    monkeypatch.setattr(map_layers, "isochrone", held)
    planner = _bearer(app, "planner", subject="pl-wait")
    rid = _result(app, planner)
    g = guarded_page(**DESKTOP, extra_http_headers=planner)
    page = g.page
    resp = page.goto(f"{url}/siting/{rid}/map?lang=ru", wait_until="load")
    assert resp is not None and resp.status == 202
    assert page.inner_text("h1") == "Карта размещения строится"
    assert "пунктов: 3" in page.inner_text("main")
    page.evaluate("document.fonts.ready.then(() => true)")
    shot = _shot(tmp_path)
    page.screenshot(path=str(shot))
    gate.set()
    # No reload from here: the page's script sees the job done and reloads into the map.
    page.wait_for_selector(".leaflet-marker-pane .gs-post-icon", state="attached", timeout=60_000)
    assert page.url.endswith(f"/siting/{rid}/map?lang=ru")
    assert page.locator(".leaflet-overlay-pane path[fill='#59a14f']").count() == 2  # the proposed posts' areas
    assert page.locator(".leaflet-overlay-pane path[fill='#4e79a7']").count() == 1
    assert g.problems() == {}, g.problems()
    assert shot.stat().st_size > 5000


def test_a_failed_map_job_is_said_so(guarded_page: Callable[..., Any], pages_server: tuple[Any, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app, url = pages_server
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("the road graph is unreadable")

    monkeypatch.setattr(map_layers, "isochrone", broken)
    planner = _bearer(app, "planner", subject="pl-fail")
    rid = _result(app, planner)
    g = guarded_page(**DESKTOP, extra_http_headers=planner)
    page = g.page
    page.goto(f"{url}/siting/{rid}/map?lang=en", wait_until="load")
    page.wait_for_selector("#gs-wait-failed", state="visible", timeout=60_000)
    assert "could not be drawn" in page.inner_text("#gs-wait-failed")
    assert page.locator("#gs-wait-progress").is_hidden() and "road graph" not in page.inner_text("main")
    assert g.page_errors == [] and g.console_errors == [] and g.blocked == []
