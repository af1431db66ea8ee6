"""Point and address to precinct, inspector and post.

Border rule: a point that lies on the border shared by two or more precincts (it
intersects several polygons) belongs to the precinct whose ``precinct_id`` sorts
first as a string. It is deterministic and the same in single and batch lookups;
answers say ``"on_border": true`` when it was applied.

Only public facts leave this module: precinct, inspector name, rank, work phone,
reception hours and the post.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import shapely

from geo_service.bundle import CityBundle
from geo_service.errors import InputError, NotFound
from geo_service.lookup.encoded import EncodedAnswer, encode_json_object
from geo_service.lookup.geocode import AddressIndex, Candidate
from geo_service.network.geodesy import haversine_m
from geo_service.network.graph import WALK_SPEED_KPH
from geo_service.precinct_grid import PrecinctGrid

logger = logging.getLogger(__name__)

MAX_ADDRESS_CHARS = 200
MAX_BATCH = 10_000
#: An address register code: letters, digits and . _ / - (the РКА is 16 digits).
ADDRESS_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]{0,63}")
#: A point within this many degrees outside the city's bounding box still counts as in it.
EXTENT_MARGIN_DEG = 0.05
#: Candidates within this many score points of the best make an answer ambiguous.
AMBIGUITY_MARGIN = 3.0
#: Close candidates nearer than this (an address node and its building outline) are one place.
SAME_PLACE_M = 100.0


def _length_text(metres: float | None) -> str:
    if not metres:
        return ""
    return f" ({metres:,.0f} m long)" if metres < 1000 else f" ({metres / 1000:.1f} km long)"


def match_note(item: dict[str, Any]) -> str | None:
    """A readable note on how sure a candidate is (``None`` for the very house asked).

    Built from the candidate's fields (``match``, ``house_asked``, ``house_found``,
    ``street``, ``housenumber``, ``street_length_m``, ``street_precincts``), so a page
    can translate from the fields instead.
    """
    asked, street, match = item.get("house_asked"), item.get("street") or "", item["match"]
    if match == "house":
        if item.get("house_found") is False and asked:
            return f"house {asked} not found on {street}; the point is house {item.get('housenumber')}"
        return None
    where = "the street's middle" if match == "street" else "the middle of the place"
    length = _length_text(item.get("street_length_m")) if match == "street" else ""
    if asked:
        note = f"house {asked} not found {'on' if match == 'street' else 'in'} {street}; the point is {where}{length}"
    else:
        note = f"no house number given; the point is {where} of {street}{length}".replace(
            "the street's middle of", "the middle of").replace("the middle of the place of", "the middle of")
    crossed = item.get("street_precincts") or []
    if len(crossed) > 1:
        ids = ", ".join(p["id"] for p in crossed[:8]) + (", ..." if len(crossed) > 8 else "")
        note += (f"; the street crosses {len(crossed)} precincts ({ids}): the street alone does not "
                 "determine the precinct, give the house number or choose the point on the map")
    return note


class OutsidePrecincts(NotFound):
    """The point is in no precinct."""

    title = "Outside every precinct"


class ProbablySwapped(InputError):
    """The point is outside the city but (lon, lat) swapped would be inside."""

    status = 422
    title = "Coordinates probably swapped"


def check_point(lat: Any, lon: Any) -> tuple[float, float]:
    """Return (lat, lon) as floats or raise `InputError` naming the bad value."""
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        msg = "lat and lon must be numbers in decimal degrees"
        raise InputError(msg) from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        msg = "lat and lon must be finite numbers"
        raise InputError(msg)
    if not -90 <= lat_f <= 90:
        msg = f"lat {lat_f} is outside -90..90"
        raise InputError(msg)
    if not -180 <= lon_f <= 180:
        msg = f"lon {lon_f} is outside -180..180"
        raise InputError(msg)
    return lat_f, lon_f


def check_address(text: Any) -> str:
    """Return the address text stripped, or raise `InputError`."""
    if not isinstance(text, str) or not text.strip():
        msg = "address must be a non-empty string"
        raise InputError(msg)
    if len(text) > MAX_ADDRESS_CHARS:
        msg = f"address is longer than {MAX_ADDRESS_CHARS} characters"
        raise InputError(msg)
    return text.strip()


class UnknownAddressId(NotFound):
    """No address of the register has this code."""

    title = "Unknown address id"


def check_address_id(value: Any) -> str:
    """Return the register code stripped, or raise `InputError` naming ``address_id``."""
    code = value.strip() if isinstance(value, str) else None
    if not code or not ADDRESS_ID.fullmatch(code):
        msg = "address_id must be 1-64 letters, digits, '.', '_', '/' or '-' (the register's code)"
        raise InputError(msg, field="address_id")
    return code


@dataclass(frozen=True)
class Located:
    """Which precinct a point is in."""

    index: int
    on_border: bool


class Lookup:
    """The lookup service of one city, built once per loaded bundle."""

    def __init__(self, city: CityBundle) -> None:
        self.city = city
        precincts = city.precincts
        self.geoms = np.asarray(precincts.geometry.to_numpy(), dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self.ids = precincts.precinct_id.astype(str).to_numpy()
        # rank[i] is the position of precinct i in string order: the border rule.
        self.rank = np.empty(len(self.ids), dtype=np.int64)
        self.rank[np.argsort(self.ids, kind="stable")] = np.arange(len(self.ids))
        minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
        self.extent = (minlon - EXTENT_MARGIN_DEG, minlat - EXTENT_MARGIN_DEG,
                       maxlon + EXTENT_MARGIN_DEG, maxlat + EXTENT_MARGIN_DEG)
        self._posts = {str(row.post_id): self._post_public(row) for row in city.posts.itertuples(index=False)}
        self._inspectors: dict[str, list[dict[str, str]]] = {}
        for row in city.roster.itertuples(index=False):
            self._inspectors.setdefault(str(row.precinct_id), []).append(
                {"id": str(row.inspector_id), "name": str(row.inspector_name), "rank": str(row.rank),
                 "phone": str(row.phone), "reception_hours": str(row.reception_hours)})
        self._precincts: list[dict[str, Any]] = [
            {"id": str(r.precinct_id), "name": str(r.name), "source": str(r.source),
             "official": str(r.source) == "official", "post_id": str(r.post_id) or None}
            for r in precincts.itertuples(index=False)
        ]
        self._geocoder: AddressIndex | None = None
        self._post_snaps: dict[tuple[Any, ...], Any] = {}
        # The build's grid, memory-mapped (shared by the workers); built here for older bundles.
        self._grid: PrecinctGrid | None = PrecinctGrid.load(city.path)
        self._codes: tuple[pd.Index, np.ndarray] | None = None
        self._geocoder_lock = threading.Lock()
        self._name_ids: dict[str, int] | None = None
        self._street_precincts: dict[str, list[int]] = {}
        self._precincts_answer: EncodedAnswer | None = None

    # -- facts ------------------------------------------------------------------------
    @staticmethod
    def _post_public(row: Any) -> dict[str, Any]:
        return {"id": str(row.post_id), "name": str(row.name), "address": str(row.address) or None,
                "lat": round(float(row.lat), 7), "lon": round(float(row.lon), 7)}

    def precinct_info(self, index: int) -> dict[str, Any]:
        """Public facts of precinct ``index``: the precinct, its inspectors and its post."""
        p = self._precincts[index]
        return {
            "precinct": {k: p[k] for k in ("id", "name", "source", "official")},
            "inspectors": self._inspectors.get(p["id"], []),
            "post": self._posts.get(p["post_id"]) if p["post_id"] else None,
        }

    def index_of(self, precinct_id: str) -> int:
        """Row of a precinct id; `NotFound` when unknown."""
        hits = np.flatnonzero(self.ids == precinct_id)
        if len(hits) == 0:
            msg = f"no precinct with id {precinct_id!r}"
            raise NotFound(msg)
        return int(hits[0])

    def in_extent(self, lat: float, lon: float) -> bool:
        minlon, minlat, maxlon, maxlat = self.extent
        return minlon <= lon <= maxlon and minlat <= lat <= maxlat

    # -- point in polygon ------------------------------------------------------------
    def locate(self, lat: float, lon: float) -> Located | None:
        """The precinct containing a point (border rule applied), or None."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return Located(int(hits[0]), False)
        return Located(int(hits[np.argmin(self.rank[hits])]), True)

    @property
    def grid(self) -> PrecinctGrid:
        """The raster index for batches, built on first use (or by `warm`)."""
        if self._grid is None:
            with self._geocoder_lock:
                if self._grid is None:
                    self._grid = PrecinctGrid.build(self.geoms)
        return self._grid

    def locate_many(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised `locate`: (precinct index or -1, on_border flags).

        Points in grid cells that no precinct border crosses take the cell's precinct
        at once; the rest (about 5% on Almaty) get the exact polygon test.
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        out, exact = self.grid.lookup(lat, lon)
        border = np.zeros(len(lat), dtype=bool)
        rows = np.flatnonzero(exact)
        if len(rows):
            out[rows], border[rows] = self._locate_exact(lat[rows], lon[rows])
        return out, border

    def _locate_exact(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points = shapely.points(lon, lat)
        inp, idx = self.tree.query(points, predicate="intersects")
        out = np.full(len(points), -1, dtype=np.int64)
        border = np.zeros(len(points), dtype=bool)
        if len(inp):
            order = np.lexsort((self.rank[idx], inp))
            inp, idx = inp[order], idx[order]
            first = np.ones(len(inp), dtype=bool)
            first[1:] = inp[1:] != inp[:-1]
            out[inp[first]] = idx[first]
            counts = np.bincount(inp, minlength=len(points))
            border = counts > 1
        return out, border

    def nearest(self, lat: float, lon: float) -> tuple[int, float]:
        """The nearest precinct to a point outside all, and the distance in metres."""
        point = shapely.Point(lon, lat)
        i = int(self.tree.query_nearest(point)[0])
        line = shapely.shortest_line(point, self.geoms[i])
        (x0, y0), (x1, y1) = shapely.get_coordinates(line)
        return i, float(haversine_m(np.float64(x0), np.float64(y0), np.float64(x1), np.float64(y1)))

    # -- answers ----------------------------------------------------------------------
    def by_point(self, lat: Any, lon: Any, *, travel: bool = True) -> dict[str, Any]:
        """The answer for one point.

        Raises
        ------
        InputError
            Bad coordinates.
        ProbablySwapped
            Outside the city, but (lon, lat) swapped falls inside it.
        OutsidePrecincts
            In no precinct: the problem names the nearest precinct and the distance.
        """
        lat_f, lon_f = check_point(lat, lon)
        found = self.locate(lat_f, lon_f)
        if found is None:
            self._raise_outside(lat_f, lon_f)
        answer = {"point": {"lat": lat_f, "lon": lon_f}, **self.precinct_info(found.index),
                  "on_border": found.on_border}
        if travel:
            answer["travel_to_post"] = self.travel_to_post(lat_f, lon_f, answer["post"])
        return answer

    def _raise_outside(self, lat: float, lon: float) -> NoReturn:
        if not self.in_extent(lat, lon) and -90 <= lon <= 90 and self.in_extent(lon, lat):
            msg = (f"the point ({lat}, {lon}) is outside {self.city.manifest['city']}, but ({lon}, {lat}) is "
                   "inside it: latitude and longitude are probably swapped")
            raise ProbablySwapped(msg, suggestion={"lat": lon, "lon": lat})
        i, dist = self.nearest(lat, lon)
        msg = f"the point is in no precinct; the nearest is {self.ids[i]} at {dist:,.0f} m"
        raise OutsidePrecincts(msg, nearest_precinct={"id": str(self.ids[i]), "name": self._precincts[i]["name"]},
                               distance_m=round(dist, 1))

    def travel_to_post(self, lat: float, lon: float, post: dict[str, Any] | None) -> dict[str, Any] | None:
        """Walking and driving time from a point to the post over the road graph."""
        if post is None:
            return None
        out: dict[str, Any] = {}
        for mode in ("walk", "drive"):
            graph = self.city.graph(mode)
            src = graph.snap(lat, lon)
            dst = self._post_snap(mode, post)
            time_s, _, arcs = graph.node_route(src.node, dst.node)
            if time_s is None:
                out[mode] = None
                continue
            length = float(graph.length_m[np.asarray(arcs, dtype=np.int64)].sum()) if arcs else 0.0
            # Getting on and off the road network is on foot.
            off_road = src.distance_m + dst.distance_m
            seconds = time_s + off_road / (WALK_SPEED_KPH / 3.6)
            out[mode] = {"minutes": round(seconds / 60, 1), "distance_m": round(length + off_road),
                         "off_road_m": round(off_road)}
        return out

    def _post_snap(self, mode: str, post: dict[str, Any]) -> Any:
        """A post's snap to a graph, computed once (posts do not move while a city is loaded)."""
        key = (mode, post["id"], post["lat"], post["lon"])
        snap = self._post_snaps.get(key)
        if snap is None:
            snap = self._post_snaps[key] = self.city.graph(mode).snap(post["lat"], post["lon"])
        return snap

    @property
    def geocoder(self) -> AddressIndex:
        """The address index, built on first use (or by `warm`)."""
        if self._geocoder is None:
            with self._geocoder_lock:
                if self._geocoder is None:
                    self._geocoder = AddressIndex.from_frames(self.city.addresses, self.city.streets)
        return self._geocoder

    def warm(self) -> None:
        """Build everything lazy now (the server does this before taking requests)."""
        _ = self.geocoder
        _ = self.grid
        _ = self.codes
        self.precincts_answer()
        # Travel to the post: the snapping trees and the CCHs, both graphs at once (RoutingKit
        # releases the interpreter while it builds: 4.7 s -> 3.8 s at 0.9 M edges on a busy machine).
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="warm") as pool:
            list(pool.map(lambda mode: self.city.graph(mode).warm(), ("walk", "drive")))

    @property
    def codes(self) -> tuple[pd.Index, np.ndarray]:
        """The register codes of the address table, hashed once, and their rows."""
        if self._codes is None:
            with self._geocoder_lock:
                if self._codes is None:
                    a = self.city.addresses
                    ids = (a["address_id"].fillna("").astype(str).to_numpy(dtype=object)
                           if "address_id" in a.columns else np.zeros(0, dtype=object))
                    rows = np.flatnonzero(ids != "")
                    self._codes = (pd.Index(ids[rows]), rows)
        return self._codes

    def address_row(self, code: Any) -> int:
        """The address-table row of a register code; `UnknownAddressId` when the register has none."""
        code = check_address_id(code)
        index, rows = self.codes
        pos = index.get_indexer_for([code])
        if len(pos) == 0 or pos[0] < 0:
            msg = "no address of the register has this address_id"
            raise UnknownAddressId(msg, field="address_id")
        return int(rows[pos[0]])

    def by_address_id(self, code: Any, *, travel: bool = True) -> dict[str, Any]:
        """The answer for a register code: the address, and the precinct answer of its point."""
        row = self.city.addresses.iloc[self.address_row(code)]
        lat, lon = float(row["lat"]), float(row["lon"])
        address = {"address_id": str(row["address_id"]), "street": str(row["street"]),
                   "housenumber": str(row["housenumber"]), "district": str(row.get("district", "")) or None,
                   "source": str(row.get("source", "register"))}
        found = self.locate(lat, lon)
        if found is None:
            i, dist = self.nearest(lat, lon)
            return {"address": address, "point": {"lat": lat, "lon": lon}, "precinct": None, "inspectors": [],
                    "post": None, "nearest_precinct": {"id": str(self.ids[i]), "distance_m": round(dist, 1)}}
        answer = {"address": address, "point": {"lat": lat, "lon": lon}, **self.precinct_info(found.index),
                  "on_border": found.on_border}
        if travel:
            answer["travel_to_post"] = self.travel_to_post(lat, lon, answer["post"])
        return answer

    def by_address(self, text: Any, *, limit: int = 5, travel: bool = True) -> dict[str, Any]:
        """Ranked candidates for an address text, each with its precinct answer.

        Every candidate and the answer say how sure they are: ``match`` (``house``, ``street``:
        the street's middle, ``place``: a microdistrict's middle), ``house_found`` (``false``
        when the asked house is not in the data), ``precinct_determined`` (``false`` when a
        street's middle stands for a street that crosses several precincts, listed in
        ``street_precincts``) and a readable ``note``.

        ``ambiguous`` is true when more than one candidate scores within
        `AMBIGUITY_MARGIN` of the best and they fall in different places, or when the best
        is a street's middle and the street crosses several precincts: the caller must
        choose, the service does not guess.
        """
        query = check_address(text)
        candidates = self.geocoder.search(query, limit=limit)
        if not candidates:
            msg = "no address or street matches this text"
            raise NotFound(msg, query=query)
        results = [self._candidate(cand) for cand in candidates]
        ambiguous = self._ambiguous(results) or results[0]["precinct_determined"] is False
        if travel and not ambiguous and results[0].get("post"):
            results[0]["travel_to_post"] = self.travel_to_post(results[0]["lat"], results[0]["lon"], results[0]["post"])
        best = results[0]
        note = best["note"]
        if ambiguous and best["precinct_determined"] is not False:
            note = ((note + "; ") if note else "") + "several candidates fit about equally: choose one"
        return {"query": query, "ambiguous": ambiguous, "match": best["match"], "house_found": best["house_found"],
                "precinct_determined": best["precinct_determined"] and not ambiguous, "note": note,
                "candidates": results}

    def _candidate(self, cand: Candidate) -> dict[str, Any]:
        """One geocoder candidate with its precinct answer and how sure it is."""
        item: dict[str, Any] = {"score": round(float(cand.score), 1), "match": cand.match,
                                "street": cand.street, "housenumber": cand.housenumber,
                                "address_id": cand.address_id, "house_asked": cand.house_asked,
                                "house_found": cand.house_found, "street_length_m": cand.street_length_m,
                                "lat": round(float(cand.lat), 7), "lon": round(float(cand.lon), 7)}
        found = self.locate(cand.lat, cand.lon)
        if found is None:
            i, dist = self.nearest(cand.lat, cand.lon)
            item.update(precinct=None, inspectors=[], post=None,
                        nearest_precinct={"id": str(self.ids[i]), "distance_m": round(dist, 1)})
        else:
            item.update(self.precinct_info(found.index), on_border=found.on_border)
        crossed = self.street_precincts(cand.road) if cand.match != "house" and cand.road else None
        item["street_precincts"] = (None if crossed is None else
                                    [{"id": str(self.ids[i]), "name": self._precincts[i]["name"]} for i in crossed])
        item["precinct_determined"] = (True if cand.match == "house" else
                                       None if not crossed else len(crossed) == 1)
        item["note"] = match_note(item)
        return item

    def street_precincts(self, road: str) -> list[int]:
        """Rows of the precincts a street crosses: those its walking-graph edges (ends and
        middles) touch, in id order; empty when the graph has no street of that name.
        Computed once per street name."""
        cached = self._street_precincts.get(road)
        if cached is not None:
            return cached
        graph = self.city.graph("walk")
        if self._name_ids is None:
            self._name_ids = {name: k for k, name in enumerate(graph.names) if name}
        k = self._name_ids.get(road)
        rows: list[int] = []
        if k is not None:
            edges = np.flatnonzero(np.asarray(graph.name_id) == k)
            tail, head = np.asarray(graph.tail)[edges], np.asarray(graph.head)[edges]
            lat, lon = np.asarray(graph.lat), np.asarray(graph.lon)
            pts = shapely.points(np.concatenate([lon[tail], lon[head], (lon[tail] + lon[head]) / 2]),
                                 np.concatenate([lat[tail], lat[head], (lat[tail] + lat[head]) / 2]))
            _, idx = self.tree.query(pts, predicate="intersects")
            rows = sorted({int(i) for i in idx}, key=lambda i: str(self.ids[i]))
        self._street_precincts[road] = rows
        return rows

    @staticmethod
    def _ambiguous(results: list[dict[str, Any]]) -> bool:
        """Candidates close to the best score that disagree on the precinct, or lie more
        than `SAME_PLACE_M` apart, make the answer ambiguous."""
        best = results[0]["score"]
        close = [r for r in results if best - r["score"] <= AMBIGUITY_MARGIN]
        if len({(r["precinct"] or {}).get("id") for r in close}) > 1:
            return True
        lat = np.array([r["lat"] for r in close])
        lon = np.array([r["lon"] for r in close])
        far = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
        return bool((far > SAME_PLACE_M).any())

    def batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Many lookups: coordinates vectorised, texts one by one; an error per bad item.

        Each result carries the item's ``id`` (when given), and either the precinct
        answer (without travel times) or ``error`` as a problem object.
        """
        if len(items) > MAX_BATCH:
            msg = f"a batch holds at most {MAX_BATCH} items, got {len(items)}"
            raise InputError(msg)
        results: list[dict[str, Any] | None] = [None] * len(items)
        coord_rows: list[int] = []
        lats: list[float] = []
        lons: list[float] = []
        for k, item in enumerate(items):
            base = {"id": item.get("id")} if item.get("id") is not None else {}
            try:
                given = [f for f in ("address", "address_id") if item.get(f) is not None]
                if given:
                    if len(given) > 1 or item.get("lat") is not None or item.get("lon") is not None:
                        msg = "give one of address, address_id or lat/lon"
                        raise InputError(msg)
                    answer = (self.by_address(item["address"], limit=3, travel=False) if given[0] == "address"
                              else self.by_address_id(item["address_id"], travel=False))
                    results[k] = {**base, **answer}
                else:
                    lat, lon = check_point(item.get("lat"), item.get("lon"))
                    coord_rows.append(k)
                    lats.append(lat)
                    lons.append(lon)
            except (InputError, NotFound) as exc:
                results[k] = {**base, "error": exc.to_problem()}
        if coord_rows:
            found, border = self.locate_many(np.array(lats), np.array(lons))
            for k, idx, on_border, lat, lon in zip(coord_rows, found.tolist(), border.tolist(), lats, lons):
                base = {"id": items[k].get("id")} if items[k].get("id") is not None else {}
                if idx >= 0:
                    results[k] = {**base, "point": {"lat": lat, "lon": lon}, **self.precinct_info(idx),
                                  "on_border": on_border}
                else:
                    try:
                        self._raise_outside(lat, lon)
                    except (InputError, NotFound) as exc:
                        results[k] = {**base, "error": exc.to_problem()}
        return [r for r in results if r is not None]

    def precincts_geojson(self) -> dict[str, Any]:
        """All precincts as an RFC 7946 FeatureCollection ([lon, lat])."""
        return {"type": "FeatureCollection",
                "features": [self.precinct_feature(i) for i in range(len(self.ids))]}

    def precincts_answer(self) -> EncodedAnswer:
        """`precincts_geojson` encoded as the API sends it, with its ETag and compressed copies:
        built once per loaded city (by `warm`, in the server's master, whose workers then share
        the bytes) and served as is (a country's 2,548 precincts: about 100 MB)."""
        if self._precincts_answer is None:
            with self._geocoder_lock:
                if self._precincts_answer is None:
                    body = encode_json_object({"type": "FeatureCollection"}, "features",
                                              (self.precinct_feature(i) for i in range(len(self.ids))))
                    self._precincts_answer = EncodedAnswer.of(body)
        return self._precincts_answer

    def precinct_feature(self, index: int) -> dict[str, Any]:
        """One precinct as a GeoJSON Feature with its public facts."""
        geom = json.loads(shapely.to_geojson(self.geoms[index]))
        info = self.precinct_info(index)
        return {"type": "Feature", "id": self._precincts[index]["id"], "geometry": geom,
                "properties": {**info["precinct"], "inspectors": info["inspectors"], "post": info["post"]}}
