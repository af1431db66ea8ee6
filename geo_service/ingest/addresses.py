"""The official address register a department works from, merged with OpenStreetMap's addresses.

A register (Kazakhstan's state address register, АР / РКА, or a city's own list) has one row
per building, with the code that other state systems (the 102 call centre, eGov services)
pass instead of free text. Accepted files:

* CSV, UTF-8, comma or semicolon separated::

      address_id,street,house,building,street_kk,street_ru,lat,lon,district
      0203000123456789,ул. Жандосова,1,,Жандосов көшесі,ул. Жандосова,43.2412,76.9085,Бостандыкский

* a point layer in GeoPackage, GeoParquet or GeoJSON with the same columns and a geometry
  instead of ``lat``/``lon`` (any CRS the file declares; polygons give a point inside them).

Required: ``address_id`` (also read as ``id``, ``rka``, ``code``), ``street``, ``house``, a point.
Optional: ``building`` (корпус / блок, also ``corpus``), ``street_kk``, ``street_ru``,
``district``. Every problem is one line naming the file, the row and the fix; rows whose point
lies outside the extract are left out with a warning (a national register can build one city).

:func:`merge_addresses` joins the register with the extract's addresses: where both have the
same house (same street key and house key, within `SAME_HOUSE_M`), the register's row is kept.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from geo_service.address_text import fold, normalize_house, stem_key
from geo_service.errors import InputFileError
from geo_service.ingest.problems import ProblemReport
from geo_service.ingest.roster import read_csv_text
from geo_service.network.geodesy import haversine_m

__all__ = ["ADDRESS_COLUMNS", "SAME_HOUSE_M", "merge_addresses", "osm_addresses", "read_register"]

#: The bundle's address table (``addresses.parquet``).
ADDRESS_COLUMNS = ("addr_id", "address_id", "street", "street_kk", "street_ru", "place", "housenumber",
                   "lat", "lon", "district", "source", "osm_type", "osm_id")
#: An OSM address this close to a register row of the same street and house is the same house.
SAME_HOUSE_M = 300.0
#: Problem lines of one kind printed in full; the rest are counted in one line.
MAX_LINES_PER_KIND = 20
_SYNONYMS = {
    "address_id": ("address_id", "id", "rka", "рка", "code", "register_id"),
    "street": ("street", "улица", "көше"),
    "house": ("house", "housenumber", "дом", "үй"),
    "building": ("building", "corpus", "korpus", "корпус", "block"),
    "street_kk": ("street_kk",), "street_ru": ("street_ru",), "district": ("district", "район", "аудан"),
    "lat": ("lat", "latitude", "y"), "lon": ("lon", "lng", "longitude", "x"),
}
_TEXT = ("address_id", "street", "house", "building", "street_kk", "street_ru", "district")


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    cols = {c: c.strip().lower() for c in frame.columns}
    frame = frame.rename(columns=cols)
    for want, names in _SYNONYMS.items():
        if want not in frame.columns:
            for n in names:
                if n in frame.columns:
                    frame = frame.rename(columns={n: want})
                    break
    return frame


def _read_layer(path: Path, report: ProblemReport) -> pd.DataFrame | None:
    import geopandas as gpd  # noqa: PLC0415 - loaded only to read a spatial register (start-up time)

    try:
        gdf = gpd.read_parquet(path) if path.suffix.lower() in (".parquet", ".geoparquet") else gpd.read_file(path)
    except Exception as exc:  # pyogrio / pyarrow raise several types for unreadable files
        msg = f"{path}: cannot read the address layer ({exc}); fix: give CSV UTF-8, GeoPackage, GeoParquet or GeoJSON"
        raise InputFileError(msg) from exc
    if gdf.crs is None:
        report.error(path.name, "layer", "no CRS", "save the layer with its CRS (e.g. EPSG:4326)")
        return None
    gdf = gdf.to_crs(4326)
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    pts = gdf.geometry.where(~empty).representative_point()
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame = _rename(frame)
    for col in _TEXT:
        if col in frame.columns:
            frame[col] = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
                          for v in frame[col]]
    frame["lon"] = np.where(empty, np.nan, pts.x.to_numpy())
    frame["lat"] = np.where(empty, np.nan, pts.y.to_numpy())
    return frame


def _float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values.astype(str).str.replace(",", ".", regex=False), errors="coerce").to_numpy(float)


class _Lines:
    """Problem lines of one kind, the first `MAX_LINES_PER_KIND` in full, then one count."""

    def __init__(self, report: ProblemReport, file: str) -> None:
        self.report, self.file = report, file
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, severity: str, record: str, message: str, fix: str) -> None:
        key = (severity, message.split(":", maxsplit=1)[0])
        self.counts[key] += 1
        if self.counts[key] <= MAX_LINES_PER_KIND:
            getattr(self.report, severity)(self.file, record, message, fix)

    def close(self) -> None:
        for (severity, kind), n in self.counts.items():
            if n > MAX_LINES_PER_KIND:
                getattr(self.report, severity)(self.file, f"{n - MAX_LINES_PER_KIND} more rows",
                                               f"{kind} (as above)", "fix them the same way")


def read_register(path: Path, report: ProblemReport, *,
                  extent: tuple[float, float, float, float]) -> pd.DataFrame:
    """Read and check an address register; problems go to ``report``.

    Parameters
    ----------
    path : Path
        CSV UTF-8, GeoPackage, GeoParquet or GeoJSON.
    extent : (minlon, minlat, maxlon, maxlat)
        The extract's bounds: rows outside are left out (with a warning).

    Returns
    -------
    pandas.DataFrame
        `ADDRESS_COLUMNS` without ``addr_id`` (numbered by `merge_addresses`), source "register".
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such file; fix: check the path"
        raise InputFileError(msg)
    name = path.name
    frame = _rename(read_csv_text(path)) if path.suffix.lower() in (".csv", ".txt") else _read_layer(path, report)
    if frame is None:
        return _empty()
    missing = [c for c in ("address_id", "street", "house", "lat", "lon") if c not in frame.columns]
    if missing:
        report.error(name, "header", f"missing column(s) {', '.join(missing)}",
                     "name the columns address_id, street, house and lat, lon (or give a point layer)")
        return _empty()
    for col in _TEXT:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame.reset_index(drop=True)
    lat, lon = _float(frame["lat"]), _float(frame["lon"])
    keep = _check_rows(frame, lat, lon, _Lines(report, name), extent)
    house = [h if not b else f"{h} к{b}" for h, b in zip(frame.house, frame.building)]
    out = pd.DataFrame({
        "address_id": frame.address_id, "street": frame.street, "street_kk": frame.street_kk,
        "street_ru": frame.street_ru, "place": "", "housenumber": house, "lat": lat, "lon": lon,
        "district": frame.district, "source": "register", "osm_type": "", "osm_id": 0,
    })
    return out[keep].reset_index(drop=True)


def _check_rows(frame: pd.DataFrame, lat: np.ndarray, lon: np.ndarray, lines: _Lines,
                extent: tuple[float, float, float, float]) -> np.ndarray:
    """Per-row checks; the rows to keep (fatal rows are reported as errors and stop the build)."""
    minlon, minlat, maxlon, maxlat = extent

    def inside(la: np.ndarray, lo: np.ndarray) -> np.ndarray:
        return (lo >= minlon) & (lo <= maxlon) & (la >= minlat) & (la <= maxlat)

    ok_point = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    in_city = ok_point & inside(lat, lon)
    swapped = ok_point & ~in_city & inside(lon, lat)
    keep = in_city.copy()
    ids = frame.address_id.to_numpy()
    for i in range(len(frame)):
        rec = f"row {i + 2}" + (f" (address_id {ids[i]})" if ids[i] else "")
        if not ids[i]:
            lines.add("error", rec, "empty address_id", "give every row its register code")
        if not frame.street.iat[i]:
            lines.add("error", rec, "empty street", "fill in the street (or the microdistrict, e.g. мкр. Самал-2)")
        if not normalize_house(frame.house.iat[i]):
            lines.add("error", rec, f"house {frame.house.iat[i]!r} holds no house number", "write e.g. 12, 12А, 12/1")
        if not ok_point[i]:
            lines.add("error", rec, "lat/lon are not a valid coordinate",
                      "write decimal degrees, e.g. 43.2389, 76.8897")
        elif swapped[i]:
            lines.add("error", rec, f"lat/lon swapped: ({lat[i]}, {lon[i]}) is outside the city, "
                      f"({lon[i]}, {lat[i]}) is inside it", "swap the lat and lon columns")
        elif not in_city[i]:
            lines.add("warning", rec, "point outside the extract: left out",
                      "build with a larger extract, or ignore for a register wider than the city")
    dup = frame.address_id.duplicated(keep=False) & (frame.address_id != "")
    for value, rows in frame.index[dup].groupby(frame.address_id[dup]).items():
        lines.add("error", "rows " + ", ".join(str(r + 2) for r in rows[:10]),
                  f"address_id {value} appears {len(rows)} times", "give each building one row and one code")
    lines.close()
    return keep


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ADDRESS_COLUMNS if c != "addr_id"})


def osm_addresses(extract_addresses: pd.DataFrame) -> pd.DataFrame:
    """The extract's addresses in the register's columns (``address_id`` empty, source "osm")."""
    a = extract_addresses.drop_duplicates(["street", "place", "housenumber", "lon", "lat"]).reset_index(drop=True)
    return pd.DataFrame({
        "address_id": "", "street": a.street, "street_kk": "", "street_ru": "", "place": a.place,
        "housenumber": a.housenumber, "lat": a.lat.astype(float), "lon": a.lon.astype(float), "district": "",
        "source": "osm", "osm_type": a.osm_type, "osm_id": a.osm_id.astype(np.int64),
    })


def _house_key(street: str, house: str) -> tuple[str, str]:
    return stem_key(fold(street)), normalize_house(house)


def merge_addresses(register: pd.DataFrame | None, osm: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Register rows first, then the OSM addresses the register does not have.

    Returns the bundle's address table (`ADDRESS_COLUMNS`, ``addr_id`` numbered from 0) and
    the counts per source for the manifest.
    """
    if register is None or len(register) == 0:
        merged, replaced = osm, 0
    else:
        by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (s, h) in enumerate(zip(register.street, register.housenumber)):
            by_key[_house_key(s, h)].append(i)
        r_lat, r_lon = register.lat.to_numpy(float), register.lon.to_numpy(float)
        drop = np.zeros(len(osm), dtype=bool)
        for j, (s, p, h, la, lo) in enumerate(zip(osm.street, osm.place, osm.housenumber, osm.lat, osm.lon)):
            rows = by_key.get(_house_key(s or p, h))
            if rows:
                d = haversine_m(np.float64(lo), np.float64(la), r_lon[rows], r_lat[rows])
                drop[j] = bool((d <= SAME_HOUSE_M).any())
        merged = pd.concat([register, osm[~drop]], ignore_index=True)
        replaced = int(drop.sum())
    merged = merged.reset_index(drop=True)
    merged.insert(0, "addr_id", np.arange(len(merged), dtype=np.int64))
    merged["osm_id"] = pd.to_numeric(merged.osm_id, errors="coerce").fillna(0).astype(np.int64)
    for col in ("address_id", "street", "street_kk", "street_ru", "place", "housenumber", "district",
                "source", "osm_type"):
        merged[col] = merged[col].fillna("").astype(str)
    counts = {"register": int((merged.source == "register").sum()), "osm": int((merged.source == "osm").sum()),
              "osm_replaced_by_register": replaced}
    return merged[list(ADDRESS_COLUMNS)], counts
