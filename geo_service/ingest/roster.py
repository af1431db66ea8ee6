"""The inspector roster and the precinct posts a police department supplies.

Roster (CSV, UTF-8, comma or semicolon separated, one row per inspector)::

    inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address
    UI-0001,P-01,Серік Ахметов,майор полиции,+7 727 000 0001,Вт/Чт 17:00-20:00,43.2389,76.8897,"Абая 150"

``post_lat``, ``post_lon`` and ``post_address`` are optional; one precinct may have
several inspectors. Posts (CSV with ``post_id, name, lat, lon`` and optional
``precinct_id, address``, or a GeoJSON / GeoPackage of points).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from geo_service.errors import InputFileError
from geo_service.ingest.osm import HighwayWays
from geo_service.ingest.police import not_a_post, post_names
from geo_service.ingest.problems import ProblemReport

logger = logging.getLogger(__name__)

ROSTER_REQUIRED = ("inspector_id", "precinct_id", "inspector_name", "rank", "phone", "reception_hours")
ROSTER_OPTIONAL = ("post_lat", "post_lon", "post_address")
POST_COLUMNS = ("post_id", "name", "address", "lat", "lon", "precinct_id", "source")


def read_csv_text(path: Path) -> pd.DataFrame:
    if not path.exists():
        msg = f"{path}: no such file; fix: check the path"
        raise InputFileError(msg)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python",
                            encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: not a readable UTF-8 CSV file ({exc}); fix: save it as CSV UTF-8"
        raise InputFileError(msg) from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame.apply(lambda s: s.str.strip())


def _float(value: str) -> float:
    try:
        return float(value.replace(",", "."))
    except (ValueError, AttributeError):
        return math.nan


def read_roster(path: Path, report: ProblemReport) -> pd.DataFrame:
    """Read and check a roster CSV; problems go to ``report``.

    Returns
    -------
    pandas.DataFrame
        The roster columns, with ``post_lat``/``post_lon`` as floats (NaN when absent).
    """
    path = Path(path)
    frame = read_csv_text(path)
    name = path.name
    missing = [c for c in ROSTER_REQUIRED if c not in frame.columns]
    if missing:
        report.error(name, "header", f"missing column(s) {', '.join(missing)}",
                     f"the first line must name {', '.join(ROSTER_REQUIRED)}")
        return pd.DataFrame(columns=[*ROSTER_REQUIRED, *ROSTER_OPTIONAL])
    for col in ROSTER_OPTIONAL:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[[*ROSTER_REQUIRED, *ROSTER_OPTIONAL]].copy()
    for i, row in frame.iterrows():
        rec = f"row {int(i) + 2}"
        for col in ("inspector_id", "precinct_id", "inspector_name"):
            if not row[col]:
                report.error(name, rec, f"empty {col}", f"fill in {col}")
    dup = frame.inspector_id[frame.inspector_id.duplicated() & (frame.inspector_id != "")]
    for value in dup.unique():
        rows = ", ".join(str(int(i) + 2) for i in frame.index[frame.inspector_id == value])
        report.error(name, f"rows {rows}", f"inspector_id {value} appears more than once",
                     "give each inspector one row and a unique inspector_id")
    frame["post_lat"] = frame.post_lat.map(_float)
    frame["post_lon"] = frame.post_lon.map(_float)
    for i, row in frame.iterrows():
        lat, lon = row.post_lat, row.post_lon
        if math.isnan(lat) and math.isnan(lon):
            continue
        if math.isnan(lat) or math.isnan(lon) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            report.error(name, f"row {int(i) + 2}", "post_lat/post_lon are not a valid coordinate",
                         "write decimal degrees, e.g. post_lat 43.2389, post_lon 76.8897")
    return frame.reset_index(drop=True)


def read_posts(path: Path, report: ProblemReport) -> pd.DataFrame:
    """Read a posts file (CSV or a point layer) into the posts table."""
    path = Path(path)
    name = path.name
    if path.suffix.lower() == ".csv":
        frame = read_csv_text(path)
        for col in ("lat", "lon"):
            if col not in frame.columns:
                report.error(name, "header", f"missing column {col}",
                             "the first line must name post_id, name, lat, lon")
                return pd.DataFrame(columns=POST_COLUMNS)
        frame["lat"] = frame.lat.map(_float)
        frame["lon"] = frame.lon.map(_float)
    else:
        import geopandas as gpd  # noqa: PLC0415 - loaded only to read a spatial posts file (start-up time)

        if not path.exists():
            msg = f"{path}: no such file; fix: check the path"
            raise InputFileError(msg)
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            msg = f"{path}: cannot read the posts layer ({exc}); fix: give a CSV, GeoJSON or GeoPackage"
            raise InputFileError(msg) from exc
        if gdf.crs is None:
            report.error(name, "layer", "no CRS", "save the layer with its CRS (e.g. EPSG:4326)")
            return pd.DataFrame(columns=POST_COLUMNS)
        gdf = gdf.to_crs(4326)
        pts = gdf.geometry.representative_point()
        frame = pd.DataFrame(gdf.drop(columns="geometry")).astype(str)
        frame.columns = [c.lower() for c in frame.columns]
        frame["lon"], frame["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    for col in ("post_id", "name", "address", "precinct_id"):
        if col not in frame.columns:
            frame[col] = ""
    frame["post_id"] = [p or f"POST-{i + 1:03d}" for i, p in enumerate(frame.post_id)]
    for i, row in frame.iterrows():
        if not (-90 <= row.lat <= 90 and -180 <= row.lon <= 180):
            report.error(name, f"record {int(i) + 1} ({row.post_id})", "lat/lon are not a valid coordinate",
                         "write decimal degrees")
    frame["source"] = "posts file"
    return frame[list(POST_COLUMNS)].reset_index(drop=True)


def posts_from_roster(roster: pd.DataFrame) -> pd.DataFrame:
    """One post per precinct from the roster's post columns (first row with coordinates)."""
    has = roster.dropna(subset=["post_lat", "post_lon"])
    has = has.drop_duplicates("precinct_id")
    return pd.DataFrame({
        "post_id": [f"POST-{p}" for p in has.precinct_id],
        "name": [f"{p}" for p in has.precinct_id],
        "address": has.post_address.to_numpy(),
        "lat": has.post_lat.to_numpy(dtype=float), "lon": has.post_lon.to_numpy(dtype=float),
        "precinct_id": has.precinct_id.to_numpy(), "source": "roster",
    }).reset_index(drop=True)


def posts_from_osm(police: pd.DataFrame, *, ways: HighwayWays | None = None, report: ProblemReport | None = None,
                   source: str = "OpenStreetMap", keep_all: bool = False) -> pd.DataFrame:
    """Posts from the extract's ``amenity=police`` objects that are precinct posts.

    Traffic police, driving-exam centres, ambush points and ``police=*`` kinds that receive
    no residents are left out unless ``keep_all`` (`geo_service.ingest.police.not_a_post`),
    each with a warning in ``report`` naming ``source``; unnamed posts are named after their
    address or the nearest street of ``ways`` (`geo_service.ingest.police.post_names`).
    """
    kept = []
    for k, row in enumerate(police.to_dict("records")):
        reason = None if keep_all else not_a_post(row)
        if reason is None:
            kept.append(k)
        elif report is not None:
            label = _first_name(row)
            record = f"amenity=police {row['osm_type']}{row['osm_id']}" + (f" ({label})" if label else "")
            report.warning(source, record,
                           f"{reason}, not a precinct post: left out",
                           "give --posts (or the roster's post columns) to choose the posts yourself")
    police = police.iloc[kept].reset_index(drop=True)
    return pd.DataFrame({
        "post_id": [f"OSM-{t}{i}" for t, i in zip(police.osm_type, police.osm_id)],
        "name": post_names(police, ways), "address": police.address.to_numpy(),
        "lat": police.lat.to_numpy(dtype=float), "lon": police.lon.to_numpy(dtype=float),
        "precinct_id": "", "source": "OpenStreetMap amenity=police",
    }).reset_index(drop=True)


def _first_name(row: dict) -> str:
    return next((str(row.get(k) or "") for k in ("name", "name_ru", "name_kk", "official_name") if row.get(k)), "")


def check_roster_precincts(roster: pd.DataFrame, precinct_ids: list[str], *, roster_name: str,
                           precincts_name: str, report: ProblemReport) -> None:
    """Roster rows must name known precincts; precincts without an inspector are warned about."""
    known = set(precinct_ids)
    for i, pid in enumerate(roster.precinct_id):
        if pid and pid not in known:
            sample = ", ".join(sorted(known)[:5])
            report.error(roster_name, f"row {i + 2} (inspector {roster.inspector_id.iloc[i]})",
                         f"precinct_id {pid} is not in {precincts_name}",
                         f"use one of the precinct ids ({sample}{', ...' if len(known) > 5 else ''})")
    staffed = set(roster.precinct_id)
    for pid in precinct_ids:
        if pid not in staffed:
            report.warning(precincts_name, f"precinct {pid}", "no inspector in the roster",
                           f"add a row with precinct_id {pid} to {roster_name}")
