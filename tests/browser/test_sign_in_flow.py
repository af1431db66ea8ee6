"""Browser sign-in in Chromium (#22): a planner signs in with a token, opens the workload map and
the dashboard, signs out and is sent to sign in again; an inspector renews an expired route link
from its page. Real app, real store (SQLite file), Debian's Chromium through Playwright.

Screenshots go to ``maps/`` when ``GEO_SERVICE_SAVE_SCREENSHOTS=1``, otherwise to a temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from geo_service import clock
from geo_service.cli.maps import CHROMIUM, PHONE, serve_in_thread
from tests.conftest import TWO_PRECINCTS, grid_latlon, polygon, tiny_city_xml

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright==1.65.2)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ROSTER = (
    "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address\n"
    'UI-1,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00,{lat:.6f},{lon:.6f},"Абая 150"\n'
    "UI-2,P-02,Айгүл Сейітова,капитан полиции,+7 727 000 0002,Ср/Пт 17:00-20:00,,,\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app over the tiny city with a SQLite store file, on a free loopback port."""
    from geo_service import create_app
    from geo_service.ingest.build import BuildOptions, build_city

    d = tmp_path_factory.mktemp("signin-city")
    (d / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
    features = [{"type": "Feature", "properties": {"precinct_id": pid, "name": f"Участок {pid}"},
                 "geometry": {"type": "Polygon", "coordinates": polygon(*rect)}} for pid, rect in TWO_PRECINCTS.items()]
    (d / "precincts.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    lat, lon = grid_latlon(0.3, 0.3)
    (d / "roster.csv").write_text(ROSTER.format(lat=lat, lon=lon), encoding="utf-8")
    build_city(BuildOptions(osm=d / "tiny.osm", out=d / "bundle", precincts=d / "precincts.geojson",
                            roster=d / "roster.csv", city="tiny"))
    app = create_app({"BUNDLE": str(d / "bundle"), "TESTING": True, "DATABASE_URL": f"sqlite:///{d / 'gs.db'}",
                      "RATELIMIT_PUBLIC": "10000/minute", "BUNDLE_POLL_SECONDS": 0})
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("GEO_SERVICE_SAVE_SCREENSHOTS") == "1":
        return REPO / "maps"
    return tmp_path_factory.mktemp("signin-shots")


def _token(app: Any, role: str, *, subject: str, name: str, precincts: tuple[str, ...] = ()) -> str:
    from geo_service.web.context import STORE_EXT

    return app.extensions[STORE_EXT].create_credential(name=name, role=role, kind="user_token", subject=subject,
                                                       precinct_ids=precincts)[1]


def _sign_in_here(page: Any, token: str) -> None:
    page.fill("#gs-token", token)
    with page.expect_navigation(wait_until="load"):
        page.click("form[action*='sign-in'] button[type=submit] >> nth=0")


def test_a_planner_signs_in_opens_the_planner_pages_and_signs_out(
        guarded_page: Callable[..., Any], server: tuple[Any, str], shots_dir: Path, tmp_path: Path) -> None:
    app, url = server
    token = _token(app, "planner", subject="PL-1", name="Айгерім Planner")
    g = guarded_page(**PHONE)
    page = g.page
    posts: list[dict[str, str]] = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.headers))
    page.goto(f"{url}/workload/map?lang=ru", wait_until="load")
    assert page.url.startswith(f"{url}/sign-in?lang=ru&next=/workload/map")
    assert page.locator("h1").inner_text() == "Вход"
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(shots_dir / "sign-in-phone.png"))
    # The page fits a phone: no sideways scrolling, the token field and the button full width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#gs-token").bounding_box()["width"] > 300
    _sign_in_here(page, token)
    assert page.url == f"{url}/workload/map?lang=ru"
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    bar = page.locator(".gs-si-bar")
    assert bar.is_visible() and "Айгерім Planner" in bar.inner_text() and "планировщик" in bar.inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["gs_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
    assert page.evaluate("document.cookie").find("gs_session") < 0  # HttpOnly: no script reads it
    # The bar is the first row of the page's header: it covers no title, switch or map control.
    bar_box, head = bar.bounding_box(), page.locator("#gs-panel .gs-head").first.bounding_box()
    assert bar_box["y"] + bar_box["height"] <= head["y"] + 1
    page.screenshot(path=str(tmp_path / "signed-in-workload-phone.png"))
    page.goto(f"{url}/workload/dashboard?lang=kk", wait_until="load")
    assert page.url.endswith("/workload/dashboard?lang=kk") and "Шығу" in page.locator(".gs-si-bar").inner_text()
    page.screenshot(path=str(tmp_path / "signed-in-dashboard-phone.png"))
    with page.expect_navigation(wait_until="load"):
        page.click(".gs-si-bar button")
    assert "/sign-in?" in page.url and page.locator(".gs-ok-text").is_visible()
    assert "gs_session" not in {c["name"] for c in page.context.cookies()}
    page.goto(f"{url}/workload/dashboard?lang=en", wait_until="load")
    assert page.url.startswith(f"{url}/sign-in?lang=en&next=/workload/dashboard")
    assert g.problems() == {}
    # What Chromium sends with the form posts (the sign-in page's Referrer-Policy is same-origin;
    # the planner pages keep no-referrer, so their sign-out post says Origin: null).
    assert posts[0].get("origin") == url and posts[1].get("origin") == "null"


def test_an_inspector_renews_an_expired_link(guarded_page: Callable[..., Any], server: tuple[Any, str],
                                            shots_dir: Path) -> None:
    app, url = server
    token = _token(app, "inspector", subject="UI-1", name="Серік Ахметов", precincts=("P-01",))
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    today = clock.now().astimezone(ZoneInfo(app.config.get("TIME_ZONE") or "Asia/Almaty")).date().isoformat()
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[0],
               "lon": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[1], "minutes": 10} for k in range(3)]
    plan = client.post("/api/v1/routes/plan", headers=bearer, json={"inspector_id": "UI-1", "date": today,
                                                                    "visits": visits})
    assert plan.status_code == 201, plan.json
    link = client.post(f"/api/v1/routes/plans/{plan.json['id']}/link", headers=bearer, json={"expires_in": 1})
    old = link.json["url"]
    time.sleep(1.2)
    g = guarded_page(**PHONE)
    page = g.page
    page.goto(f"{url}{old}?lang=ru", wait_until="load")
    assert "Срок действия ссылки истёк" in page.inner_text("main")
    with page.expect_navigation(wait_until="load"):
        page.click(".gs-renew button")
    assert "/sign-in?lang=ru&next=/r/" in page.url
    _sign_in_here(page, token)
    assert page.url == f"{url}{old}?lang=ru"  # back on the expired page, now signed in
    assert "Вы вошли" in page.inner_text(".gs-renew") and page.locator(".gs-si-bar").is_visible()
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots_dir / "link-renew-phone.png"))
    with page.expect_navigation(wait_until="load"):
        page.click(".gs-renew button")
    assert "/r/rl_" in page.url and old not in page.url
    page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon", state="attached")
    assert page.locator(".leaflet-marker-pane .gs-stop-icon").count() == 3
    # The expired page answers 403 (it is one); nothing else failed.
    problems = g.problems()
    assert [r for r in problems.pop("bad_responses", []) if "403" not in r or "/r/" not in r] == []
    assert [e for e in problems.pop("console_errors", []) if "403" not in e] == []
    assert problems == {}
