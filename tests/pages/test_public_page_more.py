"""The residents' page (#22): reception hours at the post (never invented), the emergency number
102, "use my location" (the page script's contract with the public lookup API), every text in
kk/ru/en, and nothing personal on the page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from geo_service.pages import public_precinct_page
from geo_service.pages.i18n import LANGS, t
from geo_service.pages.public import reception_hours
from geo_service.pages.strings_public import STRINGS
from tests.conftest import grid_latlon


def _config(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="gs-config">(.*?)</script>', html, re.S)
    assert m, "no #gs-config"
    return json.loads(m.group(1))


@pytest.mark.parametrize("lang", LANGS)
def test_page_has_102_hours_and_locate(client: Any, lang: str) -> None:
    resp = client.get(f"/p/P-01?lang={lang}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    # The emergency number, as a link a phone dials, and the line that the inspector is not one.
    assert re.search(r'<a class="gs-pub-102" id="gs-pub-102" href="tel:102">', html)
    assert t("pub_emergency_call", lang) in html and t("pub_emergency_note", lang) in html
    # Reception at the post: the roster's hours of the precinct's inspector (the fixture's UI-1).
    hours = re.search(r'<ul class="gs-pub-hours" id="gs-pub-hours">(.*?)</ul>', html, re.S)
    assert hours and "Вт/Чт 17:00-20:00" in hours.group(1)
    assert t("pub_post_hours", lang) in html and t("pub_hours_not_given", lang) not in html
    # "Use my location": the button, the note that the position is not kept, the script's texts.
    assert f'id="gs-locate">{t("pub_locate_button", lang)}</button>' in html
    assert t("pub_locate_note", lang) in html
    cfg = _config(html)
    assert cfg["precinct"] == "P-01" and cfg["api"] == "/api/v1" and cfg["root"] == "/" and cfg["lang"] == lang
    assert cfg["t"]["pub_locate_denied"] == t("pub_locate_denied", lang)
    assert cfg["t"]["pub_locate_other"] == t("pub_locate_other", lang)
    # Directions from the post's coordinates only.
    nav = re.findall(r'<a class="gs-nav gs-nav-(geo|2gis|yandex)" href="([^"]+)"', html)
    assert [k for k, _ in nav] == ["geo", "2gis", "yandex"]
    assert nav[0][1].startswith("geo:") and "2gis.kz/geo/" in nav[1][1] and "yandex.kz/maps/" in nav[2][1]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_no_english_of_the_new_texts_on_kk_and_ru_pages(client: Any, lang: str) -> None:
    html = client.get(f"/p/P-01?lang={lang}").get_data(as_text=True)
    cfg = _config(html)
    for key, texts in STRINGS.items():
        assert set(texts) == set(LANGS), key
        assert texts["en"] != texts[lang], key
        visible = html.replace(json.dumps(cfg, ensure_ascii=False), "")
        assert texts["en"].split("{")[0].strip() not in visible or not texts["en"].split("{")[0].strip(), key


def test_nothing_personal_on_the_page(client: Any) -> None:
    html = client.get("/p/P-01?lang=ru").get_data(as_text=True)
    # No roster ids, no query strings carrying a position, no lookup by GET from the page.
    assert "UI-1" not in html and "UI-2" not in html
    assert "lookup?lat" not in html and "lookup?address" not in html


def _render(app: Any, *, inspectors: list[dict[str, str]], post_hours: str | None = None) -> str:
    from geo_service.lookup.service import Lookup

    city = app.extensions["geo_service"]
    lookup = Lookup(city)
    info = lookup.precinct_info(0)
    post = {"name": "Пункт полиции", "address": "ул. Абая 10", "lat": 43.25, "lon": 76.9}
    if post_hours is not None:
        post["reception_hours"] = post_hours
    info = {**info, "inspectors": inspectors, "post": post}
    figures = {"received": 0, "closed": 0, "first_contact_median_h": None, "visits": 0}
    return public_precinct_page(city, info, lookup.precinct_feature(0), figures, lang="kk",
                                period=("2026-11-01", "2026-11-30"), generated="2026-12-01")


def test_hours_not_given_are_said_never_invented(app: Any) -> None:
    html = _render(app, inspectors=[{"name": "Демо", "rank": "", "phone": "", "reception_hours": ""}])
    assert t("pub_hours_not_given", "kk") in html
    assert not re.search(r"\d\d:\d\d", html.split('id="gs-pub-hours"')[1].split("</p>")[0])
    html = _render(app, inspectors=[])
    assert t("pub_hours_not_given", "kk") in html and t("no_inspector", "kk") in html


def test_post_hours_come_from_the_post_then_the_roster() -> None:
    ins = [{"reception_hours": "Вт 17:00-20:00"}, {"reception_hours": "Вт 17:00-20:00"},
           {"reception_hours": " Ср 18:00-20:00 "}, {"reception_hours": "nan"}, {"reception_hours": ""}]
    assert reception_hours(None, ins) == ["Вт 17:00-20:00", "Ср 18:00-20:00"]
    assert reception_hours({"reception_hours": "Пн-Пт 09:00-18:00"}, ins) == ["Пн-Пт 09:00-18:00"]
    assert reception_hours({"reception_hours": ""}, []) == []


def test_post_hours_of_the_post_are_shown(app: Any) -> None:
    html = _render(app, inspectors=[], post_hours="Пн-Пт 09:00-18:00")
    assert '<li>Пн-Пт 09:00-18:00</li>' in html and t("pub_hours_not_given", "kk") not in html


def test_lookup_by_point_answers_what_the_page_script_reads(client: Any) -> None:
    """The page posts ``{lat, lon}`` to ``/api/v1/lookup`` and reads ``precinct.id`` (200) or
    ``nearest_precinct`` and ``distance_m`` (404): the contract the script relies on."""
    lat, lon = grid_latlon(1.0, 0.5)
    inside = client.post("/api/v1/lookup", json={"lat": lat, "lon": lon})
    assert inside.status_code == 200 and inside.json["precinct"]["id"] == "P-01"
    lat, lon = grid_latlon(1.0, 3.0)
    other = client.post("/api/v1/lookup", json={"lat": lat, "lon": lon})
    assert other.status_code == 200 and other.json["precinct"]["id"] == "P-02"
    lat, lon = grid_latlon(1.0, 9.0)
    outside = client.post("/api/v1/lookup", json={"lat": lat, "lon": lon})
    assert outside.status_code == 404
    assert outside.json["nearest_precinct"]["id"] == "P-02" and outside.json["distance_m"] > 0
