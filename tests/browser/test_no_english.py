"""No English on a kk or ru page (#22): every page of the service, opened in Chromium at 390 x 844.

The visible text (``document.body.innerText``) plus the title, placeholder, aria-label, alt and
title attributes and button values are collected and checked against the English the service
itself writes: the en side of every ``STRINGS`` key whose en text differs from its kk and ru texts
and is at least two words long, plus a few words templates and Leaflet might hard-code.

Screenshots of each page in kk go to ``GEO_SERVICE_REVIEW_DIR`` when it is set (not committed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
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

ROSTER = (
    "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address\n"
    'UI-1,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00,{lat:.6f},{lon:.6f},"Абая 150"\n'
    "UI-2,P-02,Айгүл Сейітова,капитан полиции,+7 727 000 0002,Ср/Пт 17:00-20:00,,,\n"
)
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
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app over the tiny city with a SQLite store, a kept plan with a link, a balance and a siting result."""
    from geo_service import create_app
    from geo_service.ingest.build import BuildOptions, build_city
    from geo_service.web.context import STORE_EXT

    d = tmp_path_factory.mktemp("no-english-city")
    (d / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
    features = [{"type": "Feature", "properties": {"precinct_id": pid, "name": f"Участок {pid}"},
                 "geometry": {"type": "Polygon", "coordinates": polygon(*rect)}} for pid, rect in TWO_PRECINCTS.items()]
    (d / "precincts.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    lat, lon = grid_latlon(0.3, 0.3)
    (d / "roster.csv").write_text(ROSTER.format(lat=lat, lon=lon), encoding="utf-8")
    build_city(BuildOptions(osm=d / "tiny.osm", out=d / "bundle", precincts=d / "precincts.geojson",
                            roster=d / "roster.csv", city="tiny"))
    app = create_app({"BUNDLE": str(d / "bundle"), "TESTING": True, "DATABASE_URL": f"sqlite:///{d / 'gs.db'}",
                      "RATELIMIT_PUBLIC": "10000/minute", "BUNDLE_POLL_SECONDS": 0,
                      "SIGNIN_RATE_LIMIT": "1000/minute"})  # 14 sign-ins here; 10/minute is the default
    store = app.extensions[STORE_EXT]
    planner = store.create_credential(name="Айгерім", role="planner", kind="user_token", subject="PL-1")[1]
    inspector = store.create_credential(name="Серік Ахметов", role="inspector", kind="user_token", subject="UI-1",
                                        precinct_ids=("P-01",))[1]
    client, bearer = app.test_client(), {"Authorization": f"Bearer {planner}"}
    today = clock.now().astimezone(ZoneInfo(app.config.get("TIME_ZONE") or "Asia/Almaty")).date().isoformat()
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[0],
               "lon": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[1], "minutes": 10} for k in range(3)]
    plan = client.post("/api/v1/routes/plan", headers=bearer, json={"inspector_id": "UI-1", "date": today,
                                                                    "visits": visits})
    assert plan.status_code == 201, plan.json
    link = client.post(f"/api/v1/routes/plans/{plan.json['id']}/link", headers=bearer, json={})
    expired = client.post(f"/api/v1/routes/plans/{plan.json['id']}/link", headers=bearer, json={"expires_in": 1})
    posts = app.extensions["geo_service"].posts.post_id.astype(str).tolist()
    balance = client.post("/api/v1/workload/balance", headers=bearer,
                          json={"tolerance": 0.1, "inspectors_per_post": dict.fromkeys(posts, 1)})
    assert balance.status_code == 201, balance.json
    siting = client.post("/api/v1/siting/solve", headers=bearer,
                         json={"model": "mclp", "minutes": 2, "p": 2, "existing": "posts"})
    assert siting.status_code == 201, siting.json
    time.sleep(1.2)  # the short link has expired
    limited = create_app({"BUNDLE": str(d / "bundle"), "TESTING": True, "RATELIMIT_PAGES": "1/minute",
                          "DATABASE_URL": f"sqlite:///{d / 'gs2.db'}", "BUNDLE_POLL_SECONDS": 0})
    with serve_in_thread(app) as url, serve_in_thread(limited) as limited_url:
        yield {"url": url, "limited": limited_url, "planner": planner, "inspector": inspector,
               "link": link.json["url"], "expired": expired.json["url"], "plan": plan.json["id"],
               "balance": balance.json["id"], "siting": siting.json["id"]}


def _sign_in(page: Any, url: str, token: str, lang: str) -> None:
    page.goto(f"{url}/sign-in?lang={lang}", wait_until="load")
    page.fill("#gs-token", token)
    with page.expect_navigation(wait_until="load"):
        page.click("form[action*='sign-in'] button[type=submit] >> nth=0")


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
    page = guarded_page(**PHONE).page
    if name == "too-many-requests":
        page.goto(f"{city['limited']}/sign-in?lang={lang}", wait_until="load")
        resp = page.goto(f"{city['limited']}/sign-in?lang={lang}", wait_until="load")
        assert resp.status == 429
    else:
        path, who, wait = PAGES[name]
        if who:
            _sign_in(page, city["url"], city[who], lang)
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
