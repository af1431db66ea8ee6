"""A day plan as GPX 1.1 for navigation apps.

Stops are numbered as the route page numbers them (`geo_service.pages.route`): visits from 1
in visiting order; the start, the reception at the post and the end carry no number; breaks
are not waypoints. Times are UTC (``...Z``): the plan's clock times are read in the city's time
zone, so an app shows them at the right hour wherever it runs.
"""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from geo_service.config import SETTINGS
from geo_service.routes.model import DayPlan, hhmm

#: Names of the stops that are not visits (a caller's label wins).
STOP_NAMES = {"start": "Start", "end": "End", "reception": "Reception at the post"}


def utc_time(date: str, minutes: float, tz: str) -> str:
    """``date`` plus ``minutes`` after its midnight in time zone ``tz``, as ISO 8601 UTC (``Z``)."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(date), dt.time(0), tzinfo=ZoneInfo(tz))
    moment = midnight + dt.timedelta(minutes=int(round(minutes)))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_gpx(plan: DayPlan, *, name: str = "Route", date: str | None = None, tz: str | None = None) -> str:
    """GPX 1.1: one ``wpt`` per stop (visits named "<n>. <label>", numbered as on the route
    page) and one ``trk`` with a segment per leg; with ``date``, each waypoint's ``time`` is its
    start in UTC, the plan's times being those of ``tz`` (default the ``TIME_ZONE`` setting's
    default, the city's zone). Nothing personal beyond the caller's labels."""
    zone = tz or SETTINGS["TIME_ZONE"][0]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<gpx version="1.1" creator="geo-service" xmlns="http://www.topografix.com/GPX/1/1" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">',
           f"<metadata><name>{xml_escape(name)}</name></metadata>"]
    n = 0
    for s in plan.stops:
        if s.kind == "break":
            continue
        label = s.label or STOP_NAMES.get(s.kind, s.kind)
        if s.kind == "visit":
            n += 1
            label = f"{n}. {label}"
        desc = f"{s.kind}; arrive {hhmm(s.arrival_min)}, start {hhmm(s.start_min)}, leave {hhmm(s.departure_min)}"
        when = f"<time>{utc_time(date, s.start_min, zone)}</time>" if date else ""
        out.append(f'<wpt lat="{s.lat:.7f}" lon="{s.lon:.7f}">{when}'
                   f"<name>{xml_escape(label)}</name><desc>{xml_escape(desc)}</desc>"
                   f"<type>{xml_escape(s.kind)}</type></wpt>")
    out.append(f"<trk><name>{xml_escape(name)}</name>")
    for leg in plan.legs:
        pts = leg.geometry()["coordinates"]
        out.append("<trkseg>" + "".join(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"/>' for lo, la in pts)
                   + "</trkseg>")
    out.append("</trk></gpx>")
    return "\n".join(out) + "\n"


__all__ = ["STOP_NAMES", "to_gpx", "utc_time"]
