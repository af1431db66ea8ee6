"""No English on a kk or ru page (#22): every page of the service, opened in Chromium at 390 x 844.

The visible text (``document.body.innerText``) plus the title, placeholder, aria-label, alt and
title attributes and button values are collected and checked against the English the service
itself writes: the en side of every ``STRINGS`` key whose en text differs from its kk and ru texts
and is at least two words long, plus a few words templates and Leaflet might hard-code.

Screenshots of each page in kk go to ``GEO_SERVICE_REVIEW_DIR`` when it is set (not committed).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from geo_service.cli.maps import PHONE

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserCity

pytestmark = pytest.mark.browser

# Words a template, a script or Leaflet might write without the tables.
HARD_CODED = ("Loading", "Sign in", "Sign out", "Search", "Close", "Zoom in", "Zoom out", "Show me where I am",
              "Full Screen", "Exit Full Screen", "Not found", "Forbidden", "Too many requests", "Print",
              "Download", "Back", "Submit", "Error")
COLLECT = """() => {
  const out = [document.title, document.body.innerText];
  const sel = '[title],[placeholder],[aria-label],[alt],input[type=submit],button[value]';
  for (const el of document.querySelectorAll(sel)) {
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
      if (el.getAttribute(a)) { out.push(el.getAttribute(a)); }
    }
    if (el.tagName === 'INPUT' && el.value) out.push(el.value);
  }
  return out.join('\\n');
}"""


def english_phrases() -> list[str]:
    """The English the service writes: en texts unlike kk and ru, two words or more, plus HARD_CODED."""
    from geo_service.pages.i18n import STRINGS

    found = set(HARD_CODED)
    for texts in STRINGS.values():
        en = texts.get("en", "")
        if en and en != texts.get("kk") and en != texts.get("ru") and len(re.findall(r"[A-Za-z]+", en)) >= 2:
            # The fixed part of a text with {placeholders}: the longest run of words between them.
            parts = [p.strip(" .,:;…()") for p in re.split(r"\{[^}]*\}", en)]
            parts = [p for p in parts if len(re.findall(r"[A-Za-z]+", p)) >= 2]
            if parts:
                found.add(max(parts, key=len))
    return sorted(found)


def english_in(text: str, phrases: list[str]) -> list[str]:
    """The phrases found in text as whole words (case kept: 'Close' is English, 'close' in data is not)."""
    return [p for p in phrases if re.search(rf"(?<![A-Za-z]){re.escape(p)}(?![A-Za-z])", text)]


def test_the_phrase_list_catches_english() -> None:
    phrases = english_phrases()
    assert len(phrases) > 50
    assert english_in("Жабу\nZoom in", phrases) == ["Zoom in"]
    assert english_in("OpenStreetMap GPX Leaflet ул. Абая 150", phrases) == []


@pytest.fixture(scope="module")
def city(tiny_city: Callable[..., BrowserCity]) -> dict[str, Any]:
    """The app over the tiny city with a SQLite store, a kept plan with a link, a balance and a siting result,
    and a second app over it whose page limit is one a minute."""
    served = tiny_city(SIGNIN_RATE_LIMIT="1000/minute")  # 14 sign-ins here; 10/minute is the default
    planner = served.token("planner", name="Айгерім", subject="PL-1")
    inspector = served.token("inspector", name="Серік Ахметов", subject="UI-1", precincts=("P-01",))
    plan = served.plan_for_today(planner)
    link = served.link(plan, planner)
    expired = served.link(plan, planner, expires_in=1)
    balance = served.balance(planner, dict.fromkeys(served.posts, 1))
    siting = served.app.test_client().post("/api/v1/siting/solve", headers={"Authorization": f"Bearer {planner}"},
                                           json={"model": "mclp", "minutes": 2, "p": 2, "existing": "posts"})
    assert siting.status_code == 201, siting.json
    time.sleep(1.2)  # the short link has expired
    limited = tiny_city(RATELIMIT_PAGES="1/minute", RATELIMIT_PUBLIC=None)
    return {"url": served.url, "limited": limited.url, "planner": planner, "inspector": inspector,
            "link": link, "expired": expired, "plan": plan, "balance": balance["id"], "siting": siting.json["id"]}


# name -> (path, who is signed in, what to wait for)
PAGES: dict[str, tuple[str, str | None, str | None]] = {
    "home": ("/", None, None),
    "sign-in": ("/sign-in", None, None),
    "precinct-map": ("/precincts/map", None, ".leaflet-container"),
    "route-link": ("{link}", None, ".leaflet-marker-pane .gs-stop-icon"),
    "route-link-sheet": ("{link}/sheet", None, None),
    "route-map": ("/routes/{plan}/map", "planner", ".leaflet-container"),
    "expired-link": ("{expired}", None, None),
    "expired-link-signed-in": ("{expired}", "inspector", None),
    "residents": ("/p/P-01", None, None),
    "workload-map": ("/workload/map", "planner", ".leaflet-overlay-pane path"),
    "workload-dashboard": ("/workload/dashboard", "planner", None),
    "siting-map": ("/siting/{siting}/map", "planner", None),
    "balance-map": ("/workload/balance/{balance}/map", "planner", None),
    "forbidden": ("/workload/map", "inspector", None),
    "not-found": ("/p/NO-SUCH-PRECINCT", None, None),
    "not-found-page": ("/no/such/page", None, None),
}
XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize("name", [*PAGES, "too-many-requests"])
def test_no_english_on_the_page(guarded_page: Callable[..., Any], city: dict[str, Any], name: str,
                                lang: str, request: pytest.FixtureRequest) -> None:
    if name in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[name], strict=False))
    g = guarded_page(**PHONE)
    page = g.page
    if name == "too-many-requests":
        page.goto(f"{city['limited']}/sign-in?lang={lang}", wait_until="load")
        resp = page.goto(f"{city['limited']}/sign-in?lang={lang}", wait_until="load")
        assert resp.status == 429
    else:
        path, who, wait = PAGES[name]
        if who:
            g.sign_in(city[who], at=f"{city['url']}/sign-in?lang={lang}")
        target = path.format(**city)
        page.goto(f"{city['url']}{target}{'&' if '?' in target else '?'}lang={lang}", wait_until="load")
        if who == "planner":  # the page itself, not the sign-in page it would send a stranger to
            assert "/sign-in" not in page.url, page.url
        if wait:
            page.wait_for_selector(wait, state="attached", timeout=20000)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(300)
    review = os.environ.get("GEO_SERVICE_REVIEW_DIR")
    if review and lang == "kk":
        Path(review).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(review) / f"{name}-kk.png"))
    text = page.evaluate(COLLECT)
    assert english_in(text, english_phrases()) == []
