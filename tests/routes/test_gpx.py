"""GPX: stops numbered as on the route page, times in UTC from the city's clock times."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from geo_service.bundle import load_bundle
from geo_service.pages.route import route_layer_data
from geo_service.routes.day import plan_day
from geo_service.routes.gpx import to_gpx, utc_time
from geo_service.routes.model import RECEPTION, Shift, Visit
from tests.conftest import grid_latlon

GPX = "{http://www.topografix.com/GPX/1/1}"
POST = grid_latlon(0.3, 0.3)


@pytest.fixture()
def plan(built_tiny: Path):
    city = load_bundle(built_tiny)
    visits = [Visit(id=v, lat=grid_latlon(i, j)[0], lon=grid_latlon(i, j)[1], service_min=15, priority=2,
                    label=f"дом {v}") for v, i, j in (("a", 1, 2), ("b", 2, 1), ("c", 0.5, 2.5))]
    return plan_day(city, start=POST, visits=visits, shift=Shift(900, 1200, breaks=[(960, 975)], reception=RECEPTION),
                    mode="walk")


def _wpts(gpx: str) -> list[ET.Element]:
    root = ET.fromstring(gpx.encode("utf-8"))
    assert root.tag == f"{GPX}gpx"
    return root.findall(f"{GPX}wpt")


def test_stops_are_numbered_as_on_the_route_page(plan) -> None:
    page = route_layer_data(plan.to_dict(), lang="en")["items"]
    wpts = _wpts(to_gpx(plan, name="day", date="2026-12-01"))
    kinds = [w.findtext(f"{GPX}type") for w in wpts]
    assert "break" not in kinds and kinds[0] == "start" and "reception" in kinds
    page_numbers = [str(item["n"]) for item in page if item["kind"] == "visit"]
    gpx_numbers = [w.findtext(f"{GPX}name").split(".", 1)[0] for w in wpts if w.findtext(f"{GPX}type") == "visit"]
    assert gpx_numbers == page_numbers == [str(k) for k in range(1, len(page_numbers) + 1)]
    visits = [s for s in plan.stops if s.kind == "visit"]
    assert [w.findtext(f"{GPX}name") for w in wpts if w.findtext(f"{GPX}type") == "visit"] == [
        f"{k}. {s.label}" for k, s in enumerate(visits, 1)]
    others = {w.findtext(f"{GPX}type"): w.findtext(f"{GPX}name") for w in wpts if w.findtext(f"{GPX}type") != "visit"}
    assert others["start"] == "Start" and others["reception"].lower() == "reception at the post"
    assert not any(name[0].isdigit() for name in others.values())


def test_times_are_utc_from_the_citys_clock(plan) -> None:
    wpts = _wpts(to_gpx(plan, name="day", date="2026-12-01", tz="Asia/Almaty"))
    stops = [s for s in plan.stops if s.kind != "break"]
    assert len(stops) == len(wpts)
    for stop, w in zip(stops, wpts):
        text = w.findtext(f"{GPX}time")
        assert text.endswith("Z")
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        local = when.astimezone(dt.timezone(dt.timedelta(hours=5)))  # Almaty is UTC+5
        assert local.date() == dt.date(2026, 12, 1)
        assert local.hour * 60 + local.minute == round(stop.start_min)
    # The default zone is the TIME_ZONE setting's default: the same file.
    assert to_gpx(plan, name="day", date="2026-12-01") == to_gpx(plan, name="day", date="2026-12-01",
                                                                 tz="Asia/Almaty")
    assert to_gpx(plan, name="day", date="2026-12-01", tz="UTC") != to_gpx(plan, name="day", date="2026-12-01")


def test_utc_time_crosses_midnight_and_zones() -> None:
    assert utc_time("2026-12-01", 9 * 60, "Asia/Almaty") == "2026-12-01T04:00:00Z"
    assert utc_time("2026-12-01", 2 * 60, "Asia/Almaty") == "2026-11-30T21:00:00Z"
    assert utc_time("2026-12-01", 24 * 60 + 30, "Asia/Almaty") == "2026-12-01T19:30:00Z"
    assert utc_time("2026-12-01", 9 * 60, "Asia/Aqtobe") == "2026-12-01T04:00:00Z"
    assert utc_time("2026-12-01", 9 * 60, "UTC") == "2026-12-01T09:00:00Z"


def test_without_a_date_there_are_no_times(plan) -> None:
    assert all(w.find(f"{GPX}time") is None for w in _wpts(to_gpx(plan, name="day")))
