"""Browser sign-in in Chromium (#22): a planner signs in with a token, opens the workload map and
the dashboard, signs out and is sent to sign in again; an inspector renews an expired route link
from its page. Real app, real store (SQLite file), Debian's Chromium through Playwright.

Screenshots go to ``maps/`` when ``GEO_SERVICE_SAVE_SCREENSHOTS=1``, otherwise to a temporary folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from geo_service.cli.maps import PHONE

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserCity

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tiny_city: Callable[..., BrowserCity]) -> BrowserCity:
    """The app over the tiny city with a SQLite store file (the default sign-in rate limit)."""
    return tiny_city()


def test_a_planner_signs_in_opens_the_planner_pages_and_signs_out(
        guarded_page: Callable[..., Any], server: BrowserCity, maps_dir: Path, tmp_path: Path) -> None:
    url = server.url
    token = server.token("planner", subject="PL-1", name="Айгерім Planner")
    g = guarded_page(**PHONE)
    page = g.page
    posts: list[dict[str, str]] = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.headers))
    page.goto(f"{url}/workload/map?lang=ru", wait_until="load")
    assert page.url.startswith(f"{url}/sign-in?lang=ru&next=/workload/map")
    assert page.locator("h1").inner_text() == "Вход"
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(maps_dir / "sign-in-phone.png"))
    # The page fits a phone: no sideways scrolling, the token field and the button full width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#gs-token").bounding_box()["width"] > 300
    g.sign_in(token)
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


def test_an_inspector_renews_an_expired_link(guarded_page: Callable[..., Any], server: BrowserCity,
                                            maps_dir: Path) -> None:
    url = server.url
    token = server.token("inspector", subject="UI-1", name="Серік Ахметов", precincts=("P-01",))
    old = server.link(server.plan_for_today(token), token, expires_in=1)
    time.sleep(1.2)
    g = guarded_page(**PHONE)
    page = g.page
    page.goto(f"{url}{old}?lang=ru", wait_until="load")
    assert "Срок действия ссылки истёк" in page.inner_text("main")
    with page.expect_navigation(wait_until="load"):
        page.click(".gs-renew button")
    assert "/sign-in?lang=ru&next=/r/" in page.url
    g.sign_in(token)
    assert page.url == f"{url}{old}?lang=ru"  # back on the expired page, now signed in
    assert "Вы вошли" in page.inner_text(".gs-renew") and page.locator(".gs-si-bar").is_visible()
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(maps_dir / "link-renew-phone.png"))
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
