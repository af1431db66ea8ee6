"""A day plan as GPX 1.1 for navigation apps."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape as xml_escape

from geo_service.routes.model import DayPlan, hhmm


def to_gpx(plan: DayPlan, *, name: str = "Route", date: str | None = None) -> str:
    """GPX 1.1: one ``wpt`` per stop (name = order and the caller's label) and one ``trk``
    with a segment per leg. Nothing personal beyond the caller's labels."""
    def when(minutes: float) -> str:
        if not date:
            return ""
        m = int(round(minutes))
        day = date
        if m >= 1440:
            day = (dt.date.fromisoformat(date) + dt.timedelta(days=m // 1440)).isoformat()
            m %= 1440
        return f"<time>{day}T{m // 60:02d}:{m % 60:02d}:00</time>"

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<gpx version="1.1" creator="geo-service" xmlns="http://www.topografix.com/GPX/1/1" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">',
           f"<metadata><name>{xml_escape(name)}</name></metadata>"]
    for k, s in enumerate(plan.stops):
        if s.kind == "break":
            continue
        label = s.label or {"start": "Start", "end": "End"}.get(s.kind, s.kind)
        desc = f"{s.kind}; arrive {hhmm(s.arrival_min)}, start {hhmm(s.start_min)}, leave {hhmm(s.departure_min)}"
        out.append(f'<wpt lat="{s.lat:.7f}" lon="{s.lon:.7f}">{when(s.start_min)}'
                   f"<name>{xml_escape(f'{k}. {label}')}</name><desc>{xml_escape(desc)}</desc>"
                   f"<type>{xml_escape(s.kind)}</type></wpt>")
    out.append(f"<trk><name>{xml_escape(name)}</name>")
    for leg in plan.legs:
        pts = leg.geometry()["coordinates"]
        out.append("<trkseg>" + "".join(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"/>' for lo, la in pts)
                   + "</trkseg>")
    out.append("</trk></gpx>")
    return "\n".join(out) + "\n"


__all__ = ["to_gpx"]
