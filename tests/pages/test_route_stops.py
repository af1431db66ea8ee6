"""The route page's stops: address, time window and visit type, translated; made stops marked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from geo_service.pages import route_page
from geo_service.pages.i18n import t
from geo_service.pages.route import route_layer_data
from tests.conftest import grid_latlon

GEOJSON_ADD = re.compile(r"(geo_json_[0-9a-f]+)_add\((\{.*?\})\);\n", re.DOTALL)
#: English words the service itself writes; none may be left on a kk or ru page.
ENGLISH = ("break", "Break", "reception at the post", "Reception", "appeal noise", "Appeal", "Domestic violence",
           "Preventive register", "Time window", "Address", "Leave the post", "Back at the post", "made")


def _stop(kind: str, i: float, j: float, at: str, **extra: Any) -> dict[str, Any]:
    lat, lon = grid_latlon(i, j)
    return {"kind": kind, "lat": lat, "lon": lon, "arrival": at, "start": at, "departure": at, **extra}


def _plan() -> dict[str, Any]:
    return {"mode": "walk", "totals": {"length_m": 1200}, "legs": [], "unassigned": [], "stops": [
        _stop("start", 0, 0, "09:00", label=""),
        _stop("visit", 0.5, 0.2, "09:20", label="Кв. 5", priority=1, address="ул. Абая 10",
              time_windows=[["09:00", "11:00"]]),
        _stop("break", 0.5, 0.2, "12:00", label="break"),
        _stop("visit", 1.5, 0.5, "13:00", label="appeal noise", priority=3, time_windows=[]),
        _stop("reception", 0, 0, "17:00", label="reception at the post"),
        _stop("end", 0, 0, "20:00", label=""),
    ]}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_stops_show_address_window_and_type_in_the_page_language(app: Any, lang: str) -> None:
    city = app.extensions["geo_service"]
    html = route_page(city, _plan(), lang=lang, date="2026-12-01", gpx_url="/g", sheet_url="/s",
                      register_service_worker=False, done_url="/r/x/stops/", made={"1": "09:25"})
    listing = html[html.index('id="gs-stops"'):html.index("</details>")]
    assert "ул. Абая 10" in listing and "09:00–11:00" in listing
    assert t("vtype_1", lang) in listing and t("stop_window", lang) in listing
    assert t("stop_break", lang) in listing and t("stop_reception", lang) in listing
    assert t("appeal_label", lang, category=t("cat_noise", lang)) in listing
    text = re.sub(r"<[^>]+>", " ", listing)  # what a person reads, not class names
    for word in ENGLISH:
        assert word not in text, word
    # The made stop is marked in the list and on the map; the others are not.
    assert re.search(r'class="gs-stop-item gs-kind-visit gs-stop-made" id="gs-stop-1"', html)
    assert 'class="gs-stop-item gs-kind-visit" id="gs-stop-2"' in html
    layers = [json.loads(text) for _, text in GEOJSON_ADD.findall(html)]
    stops = [f for d in layers for f in d.get("features", []) if "n" in f.get("properties", {})]
    assert [f["properties"].get("made") for f in stops] == [1, None]
    assert json.loads(re.search(r'id="gs-config"[^>]*>(.*?)</script>', html, re.S).group(1))["t"]["stop_made_map"] \
        == t("stop_made_map", lang)


def test_layer_data_keeps_no_priority_number_or_visit_id() -> None:
    data = route_layer_data(_plan(), lang="en")
    visit = data["items"][1]
    assert visit["vtype"] == "Domestic violence follow-up" and visit["windows"] == ["09:00–11:00"]
    assert "priority" not in visit and "visit_id" not in visit
    assert data["items"][2]["label"] == "Break" and data["items"][3]["label"] == "Appeal: noise"
    assert set(data["stops"]["features"][0]["properties"]) == {"n", "label"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_sheet_in_the_page_language_with_addresses(lang: str) -> None:
    from geo_service.pages import sheet_html

    sheet = sheet_html(_plan(), lang=lang, date="2026-12-01", inspector="UI-1")
    assert f'<html lang="{lang}">' in sheet and "@media print" in sheet
    assert "ул. Абая 10" in sheet and t("stop_break", lang) in sheet and t("vtype_1", lang) in sheet
    assert t("sheet_cols", lang).split("|")[7] in sheet and "09:00–11:00" in sheet
    lat, lon = grid_latlon(0.5, 0.2)
    assert f"{lat:.5f}, {lon:.5f}" not in sheet  # the visit with an address is listed by it
    lat, lon = grid_latlon(1.5, 0.5)
    assert f"{lat:.5f}, {lon:.5f}" in sheet  # the one without: its coordinates
    if lang != "en":
        text = re.sub(r"<[^>]+>|<style>.*?</style>", " ", sheet.split("</style>", 1)[1])
        for word in ("Break", "Visit", "Arrive", "Leave", "Notes", "Shift", "visits", "appeal noise", "Reception"):
            assert word not in text, word
