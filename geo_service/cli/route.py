"""``geo-service route``: one inspector's day from a visits CSV, as JSON, GPX and a printable sheet."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pandas as pd

from geo_service import clock
from geo_service.bundle import load_bundle
from geo_service.config import load_config
from geo_service.errors import InputError, NotFound
from geo_service.lookup.service import Lookup, check_point
from geo_service.pages.sheet import to_sheet_html
from geo_service.routes.day import plan_day
from geo_service.routes.gpx import to_gpx
from geo_service.routes.model import RECEPTION, Shift, Visit

VISIT_HEADER = "id,lat,lon,address,minutes,priority,windows,label"


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


def _visit_point(row: dict[str, str], where: str, service: Lookup) -> tuple[float, float]:
    """A visit row's point: its address geocoded, or its lat/lon checked against the city
    (a swapped pair is named, with the fix)."""
    if row.get("address"):
        try:
            answer = service.by_address(row["address"], limit=3, travel=False)
        except NotFound:
            msg = f"{where}: the address is not found; fix: correct it, or give lat and lon"
            raise InputError(msg) from None
        if answer["ambiguous"]:
            msg = f"{where}: the address is ambiguous; fix: give the house number, or lat and lon"
            raise InputError(msg)
        return answer["candidates"][0]["lat"], answer["candidates"][0]["lon"]
    try:
        lat, lon = check_point(row["lat"], row["lon"])
    except (KeyError, InputError) as exc:
        detail = exc.user_message if isinstance(exc, InputError) and row.get("lat") else "give lat and lon, or address"
        msg = f"{where}: {detail}"
        raise InputError(msg) from None
    if not service.in_extent(lat, lon) and -90 <= lon <= 90 and service.in_extent(lon, lat):
        msg = (f"{where}: ({lat}, {lon}) is outside {service.city.manifest.get('city', 'the city')}, but "
               f"({lon}, {lat}) is inside it: lat and lon are probably swapped; fix: swap the row's lat and lon")
        raise InputError(msg)
    return lat, lon


def read_visits(path: Path, service: Lookup) -> list[Visit]:
    """The visits of a CSV (``id,lat,lon,address,minutes,priority,windows,label``; comma or
    semicolon); every problem is one `InputError` line naming the file and the row, with a fix."""
    if not path.exists():
        msg = f"{path}: no such file; fix: check the path"
        raise InputError(msg)
    empty = f"{path}: the file is empty; fix: write the header {VISIT_HEADER} and one row per visit"
    if not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip():
        raise InputError(empty)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputError(empty) from None
    except (UnicodeDecodeError, pd.errors.ParserError, csv.Error) as exc:
        msg = f"{path}: not a readable UTF-8 CSV file ({str(exc)[:120]}); fix: save it as CSV UTF-8"
        raise InputError(msg) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not ({"lat", "lon"} <= set(frame.columns) or "address" in frame.columns):
        msg = f"{path}: no lat/lon or address column; fix: the first line must be {VISIT_HEADER}"
        raise InputError(msg)
    if len(frame) == 0:
        msg = f"no visits in {path}; fix: add one row per visit under the header"
        raise InputError(msg)
    visits = []
    for k, row in enumerate(frame.to_dict("records")):
        where = f"{path.name} row {k + 2}"
        lat, lon = _visit_point({c: str(v).strip() for c, v in row.items()}, where, service)
        windows = [_span(w, f"{where}: window") for w in str(row.get("windows", "")).split(";") if w.strip()]
        try:
            visits.append(Visit(id=row.get("id") or f"v{k + 1}", lat=lat, lon=lon,
                                service_min=float(row.get("minutes") or 15), priority=int(row.get("priority") or 3),
                                time_windows=windows, label=row.get("label", "")))
        except ValueError:
            msg = f"{where}: minutes and priority must be numbers; fix: e.g. minutes 15, priority 2"
            raise InputError(msg) from None
    return visits


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
    visits = read_visits(args.visits, service)
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
        tz = str(load_config().get("TIME_ZONE") or "UTC")  # GEO_SERVICE_TIME_ZONE: the city's zone
        args.gpx.write_text(to_gpx(day, name=title, date=date, tz=tz), encoding="utf-8")
    if args.sheet:
        args.sheet.write_text(to_sheet_html(day, title=title, date=date), encoding="utf-8")
    for s in day.to_dict()["stops"]:
        print(f"{s['arrival']}-{s['departure']}  {s['kind']:<9} {s['visit_id'] or ''}")
    for u in day.unassigned:
        print(f"not planned: {u.visit_id}: {u.reason}")
    print(json.dumps(day.totals(), ensure_ascii=False))
    return 0
