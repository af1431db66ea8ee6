"""``geo-service route``: one inspector's day from a visits CSV, as JSON, GPX and a printable sheet."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from geo_service import clock
from geo_service.bundle import load_bundle
from geo_service.errors import InputError, NotFound
from geo_service.lookup.service import Lookup
from geo_service.pages.sheet import to_sheet_html
from geo_service.routes.day import plan_day
from geo_service.routes.gpx import to_gpx
from geo_service.routes.model import RECEPTION, Shift, Visit


def _span(text: str, what: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` as (start, end) minutes of the day; `InputError` naming ``what`` otherwise."""
    try:
        a, b = (part.strip() for part in text.split("-"))
        start = int(a[:2]) * 60 + int(a[3:5])
        end = int(b[:2]) * 60 + int(b[3:5])
    except (ValueError, IndexError):
        msg = f"{what} {text!r} is not HH:MM-HH:MM"
        raise InputError(msg) from None
    return start, end


def run_route(args: argparse.Namespace) -> int:
    """``geo-service route``: plan one inspector's day from a visits CSV; print the stops."""
    city = load_bundle(args.bundle)
    service = Lookup(city)
    rows = city.roster[city.roster.inspector_id == args.inspector]
    if len(rows) == 0:
        msg = f"no inspector {args.inspector!r} in the bundle's roster"
        raise InputError(msg)
    precinct_id = str(rows.precinct_id.iloc[0])
    post = service.precinct_info(service.index_of(precinct_id))["post"]
    if post is None:
        msg = f"precinct {precinct_id} has no post to start from"
        raise InputError(msg)
    if not args.visits.exists():
        msg = f"{args.visits}: no such file"
        raise InputError(msg)
    frame = pd.read_csv(args.visits, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
    visits = []
    for k, row in enumerate(frame.to_dict("records")):
        where = f"{args.visits.name} row {k + 2}"
        if row.get("address"):
            try:
                answer = service.by_address(row["address"], limit=3, travel=False)
            except NotFound:
                msg = f"{where}: the address is not found"
                raise InputError(msg) from None
            if answer["ambiguous"]:
                msg = f"{where}: the address is ambiguous; give lat and lon"
                raise InputError(msg)
            lat, lon = answer["candidates"][0]["lat"], answer["candidates"][0]["lon"]
        else:
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (KeyError, ValueError):
                msg = f"{where}: give lat and lon, or address"
                raise InputError(msg) from None
        windows = [_span(w, f"{where}: window") for w in str(row.get("windows", "")).split(";") if w.strip()]
        try:
            visits.append(Visit(id=row.get("id") or f"v{k + 1}", lat=lat, lon=lon,
                                service_min=float(row.get("minutes") or 15), priority=int(row.get("priority") or 3),
                                time_windows=windows, label=row.get("label", "")))
        except ValueError:
            msg = f"{where}: minutes and priority must be numbers"
            raise InputError(msg) from None
    start, end = _span(args.shift, "--shift")
    reception = RECEPTION if args.reception else None
    shift = Shift(start_min=start, end_min=max(end, reception[1]) if reception else end,
                  breaks=[_span(b, "--break") for b in args.breaks], reception=reception)
    day = plan_day(city, start=(post["lat"], post["lon"]), visits=visits, shift=shift, mode=args.mode)
    date = args.date or clock.today().isoformat()
    title = f"Route {date} · {args.inspector}"
    if args.out:
        args.out.write_text(json.dumps(day.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    if args.gpx:
        args.gpx.write_text(to_gpx(day, name=title, date=date), encoding="utf-8")
    if args.sheet:
        args.sheet.write_text(to_sheet_html(day, title=title, date=date), encoding="utf-8")
    for s in day.to_dict()["stops"]:
        print(f"{s['arrival']}-{s['departure']}  {s['kind']:<9} {s['visit_id'] or ''}")
    for u in day.unassigned:
        print(f"not planned: {u.visit_id}: {u.reason}")
    print(json.dumps(day.totals(), ensure_ascii=False))
    return 0
