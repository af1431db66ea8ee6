"""Reading OpenStreetMap extracts.

One streaming pass with pyosmium over a ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file
collects what the service needs: highway ways with their node locations (for the
walking and driving graphs), address points (from nodes and from building
outlines), building footprints and police objects.

pyosmium is used rather than ``osmnx.graph_from_xml`` because osmnx reads XML only,
takes every way in the file (building outlines become "roads") and fails on ways
clipped at the extract edge. Here a way whose nodes are missing from the extract
(or lie outside ``clip``) is cut into the pieces that are present, and counted.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo_service.errors import GeoServiceError, InputError, InputFileError
from geo_service.network.geodesy import haversine_m

logger = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2")

#: Tags of highway ways kept for the graphs and street names.
WAY_TAGS = (
    "highway", "name", "name:kk", "name:ru", "name:en", "old_name", "oneway", "junction",
    "maxspeed", "access", "foot", "motor_vehicle", "motorcar", "vehicle", "area", "service",
)


@dataclass
class HighwayWays:
    """Highway ways as flat arrays: way ``i`` spans ``refs[offsets[i]:offsets[i+1]]``."""

    way_ids: np.ndarray
    offsets: np.ndarray
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tags: list[dict[str, str]]

    def __len__(self) -> int:
        return len(self.way_ids)

    @classmethod
    def empty(cls) -> HighwayWays:
        """No ways (what a build keeps once the graphs and the street table are made)."""
        return cls(way_ids=np.zeros(0, np.int64), offsets=np.zeros(1, np.int64), refs=np.zeros(0, np.int64),
                   lon=np.zeros(0), lat=np.zeros(0), tags=[])


@dataclass
class OsmExtract:
    """Everything read from one extract."""

    source: Path
    ways: HighwayWays
    addresses: pd.DataFrame
    buildings: pd.DataFrame
    police: pd.DataFrame
    bounds: tuple[float, float, float, float]
    stats: dict[str, int] = field(default_factory=dict)


def check_osm_path(path: Path) -> Path:
    """Return ``path`` if it names a readable OSM file, else raise `InputFileError`."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such file; fix: give the path of an .osm.pbf, .osm or .osm.bz2 extract"
        raise InputFileError(msg)
    if path.is_dir():
        msg = f"{path}: is a folder, not an OSM file; fix: give the extract file inside it"
        raise InputFileError(msg)
    name = path.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        msg = (f"{path}: unknown OSM file type; fix: the name must end in .osm.pbf, .osm or "
               ".osm.bz2")
        raise InputFileError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty; fix: download the extract again"
        raise InputFileError(msg)
    return path


def parse_clip(text: str | None) -> BaseGeometry | None:
    """Parse ``--clip``: ``minlon,minlat,maxlon,maxlat`` or a polygon file (any CRS)."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) == 4:
        try:
            minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
        except ValueError:
            minlon = math.nan
        if not math.isnan(minlon):
            if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
                msg = (f"--clip {text}: not a valid bounding box; fix: write "
                       "minlon,minlat,maxlon,maxlat in degrees, e.g. 76.8,43.2,77.0,43.3")
                raise InputError(msg)
            return shapely.box(minlon, minlat, maxlon, maxlat)
    path = Path(text)
    if not path.exists():
        msg = (f"--clip {text}: neither a bounding box nor an existing polygon file; fix: "
               "give minlon,minlat,maxlon,maxlat or a GeoJSON/GeoPackage polygon")
        raise InputError(msg)
    import geopandas as gpd  # noqa: PLC0415 - only a polygon clip file needs it (start-up time)

    frame = gpd.read_file(path)
    if frame.crs is None:
        msg = f"{path}: the clip polygon has no CRS; fix: save it with a CRS (e.g. EPSG:4326)"
        raise InputError(msg)
    geom = frame.to_crs(4326).union_all()
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"{path}: the clip file holds no polygon; fix: give a polygon layer"
        raise InputError(msg)
    return geom


class _Collector:
    """Accumulates the pieces of one pass; kept flat to stay small on country extracts."""

    def __init__(self) -> None:
        #: When set, ways and points wholly outside this (minlon, minlat, maxlon, maxlat)
        #: box are skipped while reading; the exact clip polygon is applied afterwards.
        self.box: tuple[float, float, float, float] | None = None
        self.way_ids = array("q")
        self.offsets = array("q", [0])
        self.refs = array("q")
        self.lon = array("d")
        self.lat = array("d")
        self.tags: list[dict[str, str]] = []
        self.addresses: list[tuple] = []
        self.buildings: list[tuple] = []
        self.police: list[tuple] = []
        # Closed ways (buildings, addressed or police areas) as flat rings, made into polygons
        # in one vectorised step at the end (one shapely object per way cost 40% of the read).
        self.ring_lon = array("d")
        self.ring_lat = array("d")
        self.ring_offsets = array("q", [0])
        #: (ring index, row) of the way rows of addresses/buildings/police awaiting their polygon.
        self.way_addresses: list[tuple[int, tuple]] = []
        self.way_buildings: list[tuple[int, tuple]] = []
        self.way_police: list[tuple[int, tuple]] = []
        self.stats = {"nodes": 0, "ways": 0, "relations": 0, "highway_ways": 0,
                      "other_ways": 0, "ways_missing_nodes": 0, "buildings_incomplete": 0}

    def add_node(self, o: osmium.osm.Node) -> None:
        self.stats["nodes"] += 1
        tags = o.tags
        if not tags:
            return
        loc = o.location
        if not loc.valid() or (self.box is not None and not self._in_box(loc.lon, loc.lat)):
            return
        if "addr:housenumber" in tags:
            self.addresses.append(("n", o.id, tags.get("addr:street", ""), tags.get("addr:place", ""),
                                   tags.get("addr:housenumber", ""), loc.lon, loc.lat))
        if tags.get("amenity") == "police":
            self.police.append(("n", o.id, *_police_fields(tags), loc.lon, loc.lat))

    def _in_box(self, lon: float, lat: float) -> bool:
        minlon, minlat, maxlon, maxlat = self.box  # type: ignore[misc]
        return minlon <= lon <= maxlon and minlat <= lat <= maxlat

    def add_way(self, o: osmium.osm.Way) -> None:
        self.stats["ways"] += 1
        tags = o.tags
        highway = tags.get("highway")
        is_building = "building" in tags
        has_addr = "addr:housenumber" in tags
        is_police = tags.get("amenity") == "police"
        if highway is None and not (is_building or has_addr or is_police):
            self.stats["other_ways"] += 1
            return
        lons = []
        lats = []
        refs = []
        missing = 0
        for n in o.nodes:
            loc = n.location
            refs.append(n.ref)
            if loc.valid():
                lons.append(loc.lon)
                lats.append(loc.lat)
            else:
                lons.append(math.nan)
                lats.append(math.nan)
                missing += 1
        if self.box is not None and not any(self._in_box(x, y) for x, y in zip(lons, lats)):
            return
        if highway is not None:
            self.stats["highway_ways"] += 1
            if missing:
                self.stats["ways_missing_nodes"] += 1
            self.way_ids.append(o.id)
            self.refs.extend(refs)
            self.lon.extend(lons)
            self.lat.extend(lats)
            self.offsets.append(len(self.refs))
            self.tags.append({k: tags[k] for k in WAY_TAGS if k in tags})
        if not (is_building or has_addr or is_police):
            return
        if missing or len(refs) < 4 or refs[0] != refs[-1]:
            if is_building:
                self.stats["buildings_incomplete"] += 1
            return
        ring = len(self.ring_offsets) - 1
        self.ring_lon.extend(lons)
        self.ring_lat.extend(lats)
        self.ring_offsets.append(len(self.ring_lon))
        if is_building:
            self.way_buildings.append((ring, (o.id, tags.get("building", "yes"), _levels(tags.get("building:levels")),
                                              tags.get("addr:street", ""), tags.get("addr:housenumber", ""))))
        if has_addr:
            self.way_addresses.append((ring, ("w", o.id, tags.get("addr:street", ""), tags.get("addr:place", ""),
                                              tags.get("addr:housenumber", ""))))
        if is_police:
            self.way_police.append((ring, ("w", o.id, *_police_fields(tags))))

    def finish_rings(self) -> None:
        """Make the closed ways' polygons (valid ones) and points, and add their rows."""
        n = len(self.ring_offsets) - 1
        if n == 0:
            return
        coords = np.column_stack([np.frombuffer(self.ring_lon, dtype=np.float64),
                                  np.frombuffer(self.ring_lat, dtype=np.float64)])
        ring_offsets = np.frombuffer(self.ring_offsets, dtype=np.int64)
        polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords,
                                          (ring_offsets, np.arange(n + 1, dtype=np.int64)))
        bad = np.flatnonzero(~shapely.is_valid(polys))
        if len(bad):
            polys[bad] = shapely.make_valid(polys[bad])
        points = shapely.get_coordinates(shapely.point_on_surface(polys))
        empty = shapely.is_empty(polys)
        if empty.any():  # a ring collapsed to nothing: its first node
            points[empty] = coords[ring_offsets[:-1][empty]]
        if self.way_buildings:
            rings = np.fromiter((r for r, _ in self.way_buildings), dtype=np.int64, count=len(self.way_buildings))
            for (_, row), wkb in zip(self.way_buildings, shapely.to_wkb(polys[rings]).tolist()):
                self.buildings.append((*row, wkb))
        for r, row in self.way_addresses:
            self.addresses.append((*row, float(points[r, 0]), float(points[r, 1])))
        for r, row in self.way_police:
            self.police.append((*row, float(points[r, 0]), float(points[r, 1])))


#: Columns of the police table after ``osm_type, osm_id`` and before ``lon, lat``.
POLICE_COLUMNS = ("name", "name_kk", "name_ru", "address", "official_name", "ref", "police", "street",
                  "housenumber", "text")
#: Tags whose words say what a police object is (a traffic-police watch point often says what it
#: watches in ``attention``/``description``/``note``); address and technical keys are left out.
_POLICE_TEXT_SKIP = ("addr:", "amenity", "building", "source", "opening_hours", "phone", "contact:",
                     "website", "email", "wikidata", "wikipedia", "check_date", "fixme")


def _police_fields(tags: osmium.osm.TagList) -> tuple[str, ...]:
    """The police object's names, address and descriptive text, in `POLICE_COLUMNS` order."""
    text = " | ".join(t.v for t in tags if t.v and not t.k.startswith(_POLICE_TEXT_SKIP))
    values = [tags.get(k, "") or "" for k in ("name", "name:kk", "name:ru")]
    values.append(_address_text(tags))
    values += [tags.get(k, "") or "" for k in ("official_name", "ref", "police")]
    values += [tags.get("addr:street", "") or tags.get("addr:place", "") or "", tags.get("addr:housenumber", "") or "",
               text]
    return tuple(values)


def _address_text(tags: osmium.osm.TagList) -> str:
    street = tags.get("addr:street", "") or tags.get("addr:place", "")
    house = tags.get("addr:housenumber", "")
    return ", ".join(p for p in (street, house) if p)


def _levels(value: str | None) -> float:
    if not value:
        return math.nan
    try:
        levels = float(value.replace(",", ".").split(";")[0])
    except ValueError:
        return math.nan
    return levels if 0 < levels < 200 else math.nan


def read_osm(path: Path, *, clip: BaseGeometry | None = None,
             progress: Callable[[int], None] | None = None) -> OsmExtract:
    """Read an OSM extract in one streaming pass.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    clip
        Optional polygon in EPSG:4326; nodes outside it count as missing, so ways are
        cut at its border and addresses, buildings and police objects outside are dropped.
    progress
        Called with the number of objects read so far, every 10,000 objects.

    Returns
    -------
    OsmExtract
    """
    path = check_osm_path(path)
    col = _Collector()
    clip_box = clip.bounds if clip is not None else None
    col.box = clip_box
    fp = osmium.FileProcessor(str(path)).with_locations()
    count = 0
    try:
        for obj in fp:
            count += 1
            if progress is not None and count % 10000 == 0:
                progress(count)
            if isinstance(obj, osmium.osm.Node):  # what obj.is_node() tests, in a form mypy narrows
                col.add_node(obj)
            elif isinstance(obj, osmium.osm.Way):
                col.add_way(obj)
            else:
                col.stats["relations"] += 1
    except (RuntimeError, ValueError) as exc:  # libosmium's parse errors (e.g. "OSM tag value is too long")
        if isinstance(exc, GeoServiceError):
            raise
        msg = (f"{path}: cannot read the OSM file ({str(exc)[:200]}); fix: the file is damaged or not OSM "
               "data (a tag longer than 255 characters is not OSM data), download the extract again")
        raise InputFileError(msg, detail=str(exc)) from exc
    if progress is not None:
        progress(count)
    col.finish_rings()
    ways = HighwayWays(
        way_ids=np.frombuffer(col.way_ids, dtype=np.int64).copy(),
        offsets=np.frombuffer(col.offsets, dtype=np.int64).copy(),
        refs=np.frombuffer(col.refs, dtype=np.int64).copy(),
        lon=np.frombuffer(col.lon, dtype=np.float64).copy(),
        lat=np.frombuffer(col.lat, dtype=np.float64).copy(),
        tags=col.tags,
    )
    addresses = pd.DataFrame(col.addresses, columns=["osm_type", "osm_id", "street", "place",
                                                     "housenumber", "lon", "lat"])
    buildings = pd.DataFrame(col.buildings, columns=["osm_id", "building", "levels", "street",
                                                     "housenumber", "wkb"])
    police = pd.DataFrame(col.police, columns=["osm_type", "osm_id", *POLICE_COLUMNS, "lon", "lat"])
    if clip is not None:
        ways, addresses, buildings, police = _apply_clip(clip, ways, addresses, buildings, police)
    if col.stats["nodes"] == 0:
        msg = f"{path}: the file holds no OSM nodes; fix: check that this is the right extract"
        raise InputFileError(msg)
    ok = np.isfinite(ways.lon)
    if ok.any():
        bounds = (float(ways.lon[ok].min()), float(ways.lat[ok].min()),
                  float(ways.lon[ok].max()), float(ways.lat[ok].max()))
    elif len(addresses):
        bounds = (float(addresses.lon.min()), float(addresses.lat.min()),
                  float(addresses.lon.max()), float(addresses.lat.max()))
    else:
        where = " inside --clip" if clip is not None else ""
        msg = f"{path}: the extract has no roads{where}; fix: check the extract and the clip area"
        raise InputError(msg)
    stats = dict(col.stats)
    stats.update(addresses=len(addresses), buildings=len(buildings), police=len(police))
    logger.info("read %s: %d nodes, %d highway ways (%d cut at the extract edge), %d addresses, "
                "%d buildings, %d police objects", path.name, stats["nodes"], stats["highway_ways"],
                stats["ways_missing_nodes"], len(addresses), len(buildings), len(police))
    return OsmExtract(source=path, ways=ways, addresses=addresses, buildings=buildings,
                      police=police, bounds=bounds, stats=stats)


def _apply_clip(clip: BaseGeometry, ways: HighwayWays, addresses: pd.DataFrame,
                buildings: pd.DataFrame, police: pd.DataFrame
                ) -> tuple[HighwayWays, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    shapely.prepare(clip)
    finite = np.isfinite(ways.lon)
    inside = np.zeros(len(ways.lon), dtype=bool)
    inside[finite] = shapely.contains_xy(clip, ways.lon[finite], ways.lat[finite])
    ways.lon = np.where(inside, ways.lon, np.nan)
    ways.lat = np.where(inside, ways.lat, np.nan)
    addresses = addresses[shapely.contains_xy(clip, addresses.lon.to_numpy(dtype=float),
                                              addresses.lat.to_numpy(dtype=float))]
    police = police[shapely.contains_xy(clip, police.lon.to_numpy(dtype=float), police.lat.to_numpy(dtype=float))]
    if len(buildings):
        geoms = shapely.from_wkb(buildings.wkb.to_numpy())
        buildings = buildings[shapely.within(geoms, clip)]
    return ways, addresses.reset_index(drop=True), buildings.reset_index(drop=True), police.reset_index(drop=True)


def street_table(ways: HighwayWays) -> pd.DataFrame:
    """One row per named street: its name forms, a point in its middle and its length.

    The point is the street node nearest to the mean of the street's nodes, so it
    lies on the street (a fallback location when a house number is unknown).
    """
    rows: dict[str, dict] = {}
    for i, tags in enumerate(ways.tags):
        name = tags.get("name", "")
        if not name:
            continue
        a, b = ways.offsets[i], ways.offsets[i + 1]
        lon, lat = ways.lon[a:b], ways.lat[a:b]
        ok = np.isfinite(lon)
        if not ok.any():
            continue
        row = rows.setdefault(name, {"name": name, "name_kk": "", "name_ru": "", "name_en": "",
                                     "old_name": "", "lon": [], "lat": [], "length_m": 0.0})
        for key, col in (("name:kk", "name_kk"), ("name:ru", "name_ru"), ("name:en", "name_en"),
                         ("old_name", "old_name")):
            if not row[col] and tags.get(key):
                row[col] = tags[key]
        row["lon"].append(lon[ok])
        row["lat"].append(lat[ok])
        both = ok[:-1] & ok[1:]
        row["length_m"] += float(haversine_m(lon[:-1][both], lat[:-1][both], lon[1:][both], lat[1:][both]).sum())
    out = []
    for row in rows.values():
        lon = np.concatenate(row.pop("lon"))
        lat = np.concatenate(row.pop("lat"))
        k = int(np.argmin((lon - lon.mean()) ** 2 + (lat - lat.mean()) ** 2))
        row["lon"], row["lat"] = float(lon[k]), float(lat[k])
        out.append(row)
    cols = ["name", "name_kk", "name_ru", "name_en", "old_name", "lat", "lon", "length_m"]
    return pd.DataFrame(out, columns=cols).sort_values("name").reset_index(drop=True)
