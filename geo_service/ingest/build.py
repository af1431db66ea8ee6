"""The build pipeline: OSM extract + precincts + roster + posts + address register -> city bundle.

``build_city`` is what ``geo-service build`` runs. It reads every input, reports
every problem found (one line each), stops before any heavy work when a problem is
fatal, builds the graphs, derives precincts when none are given, and writes the
bundle atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo_service import clock
from geo_service.bundle import FORMAT_VERSION, atomic_folder, write_geoparquet, write_table
from geo_service.ingest.addresses import merge_addresses, osm_addresses, read_register
from geo_service.ingest.node_order import PendingOrder
from geo_service.ingest.osm import HighwayWays, OsmExtract, parse_clip, read_osm, street_table
from geo_service.ingest.precincts import derive_precincts, read_precincts, validate_precincts
from geo_service.ingest.problems import ProblemReport
from geo_service.ingest.roads import build_graph
from geo_service.ingest.roster import (
    ROSTER_OPTIONAL,
    ROSTER_REQUIRED,
    check_roster_precincts,
    posts_from_osm,
    posts_from_roster,
    read_posts,
    read_roster,
)
from geo_service.ingest.tiles import TILES_FILE, write_tiles
from geo_service.memory import release_freed_memory
from geo_service.network.geodesy import to_utm, utm_crs
from geo_service.network.graph import MODES, RoadGraph
from geo_service.precinct_grid import PrecinctGrid
from geo_service.version import __version__

logger = logging.getLogger(__name__)

STEPS = ("read OpenStreetMap", "check inputs", "walking graph", "driving graph", "addresses and buildings",
         "precincts", "write bundle")


@dataclass
class BuildOptions:
    """What ``geo-service build`` was asked to do."""

    osm: Path
    out: Path
    precincts: Path | None = None
    roster: Path | None = None
    posts: Path | None = None
    #: The official address register (its codes answer ``lookup?address_id=``).
    addresses: Path | None = None
    clip: str | None = None
    city: str | None = None
    precincts_crs: str | None = None
    #: Posts and roster given as tables (the demo city) instead of files.
    posts_frame: pd.DataFrame | None = None
    roster_frame: pd.DataFrame | None = None
    #: An extract already read from ``osm`` (the demo reads it to place its posts).
    extract: OsmExtract | None = None
    extra_manifest: dict[str, Any] = field(default_factory=dict)
    #: Keep every amenity=police object as a post (traffic police, exam centres too).
    all_police: bool = False

    def __post_init__(self) -> None:
        for name in ("osm", "out", "precincts", "roster", "posts", "addresses"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))


class Progress:
    """Step lines and a progress bar on stderr (silent when ``enabled`` is False)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.step_t = self.t0
        self.bar: Any = None

    def step(self, index: int) -> None:
        self.close_bar()
        self.step_t = time.perf_counter()
        if self.enabled:
            print(f"[{index + 1}/{len(STEPS)}] {STEPS[index]} ...", file=sys.stderr, flush=True)

    def objects(self, count: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm  # noqa: PLC0415 - loaded only when a progress bar is shown

            self.bar = tqdm(unit=" objects", unit_scale=True, leave=False, mininterval=0.5)
        self.bar.update(count - self.bar.n)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


#: Per mode: (graph arrays, street names, build statistics), as `build_graph` returns them.
_Graphs = dict[str, tuple[dict[str, np.ndarray], list[str], dict[str, int]]]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_city(opts: BuildOptions, *, progress: Progress | None = None) -> dict[str, Any]:
    """Build a city bundle; return its manifest.

    Raises
    ------
    InputError, InputFileError
        A file is missing or unreadable.
    ValidationFailed
        Inputs were read but have fatal problems (``.problems`` lists every line).
    """
    progress = progress or Progress(enabled=False)
    t0 = time.perf_counter()
    report = ProblemReport()
    clip = parse_clip(opts.clip)

    progress.step(0)
    extract = opts.extract if opts.extract is not None and clip is None else read_osm(
        opts.osm, clip=clip, progress=progress.objects)
    progress.close_bar()
    minlon, minlat, maxlon, maxlat = extract.bounds
    crs = utm_crs((minlon + maxlon) / 2, (minlat + maxlat) / 2)

    progress.step(1)
    roster = _roster(opts, report)
    register = (read_register(opts.addresses, report, extent=extract.bounds)
                if opts.addresses is not None else None)
    addresses, address_counts = merge_addresses(register, osm_addresses(extract.addresses))
    buildings, building_points = _buildings(extract, crs)
    built = (np.vstack([addresses[["lon", "lat"]].to_numpy(), building_points])
             if len(addresses) or len(building_points) else np.zeros((0, 2)))
    posts = _posts(opts, roster, extract, report)
    official = None
    if opts.precincts is not None:
        official = read_precincts(opts.precincts, crs=opts.precincts_crs, report=report)
        if len(official):
            validate_precincts(official, file=opts.precincts.name, crs=crs, extent=extract.bounds,
                               built=built, report=report)
    elif len(posts) == 0:
        report.error(opts.osm.name, "extract", "no precinct file, no posts and no amenity=police objects "
                     "to derive precincts from", "pass --precincts, --posts, or a roster with post_lat/post_lon")
    report.raise_if_fatal()

    graph_arrays: _Graphs = {}
    orders: dict[str, PendingOrder] = {}  # each graph's CCH order, computed beside the next steps
    try:
        for i, mode in enumerate(MODES):
            progress.step(2 + i)
            graph_arrays[mode] = build_graph(extract.ways, mode, with_order=False)
            orders[mode] = PendingOrder(graph_arrays[mode][0])
        for mode in MODES:
            if graph_arrays[mode][2]["nodes"] == 0:
                report.error(opts.osm.name, "extract", f"no {mode} roads in the extract",
                             "give an extract (or --clip area) that contains the city's streets")
        report.raise_if_fatal()

        progress.step(4)
        streets = street_table(extract.ways)
        # Nothing reads the ways from here on: their arrays and tags (about 1 GB at country size) go.
        extract = dataclasses.replace(extract, ways=HighwayWays.empty())

        progress.step(5)
        walk = RoadGraph(mode="walk", names=graph_arrays["walk"][1], order=np.zeros(0, dtype=np.int32),
                         **graph_arrays["walk"][0])  # no CCH query here: its order is not needed yet
        precincts, posts, precinct_source = _precincts(opts, walk, official, posts, roster, built, crs, report)
        release_freed_memory()  # the Voronoi cells' 600 MB at x16, before the tiles take theirs
        for mode in MODES:
            graph_arrays[mode][0]["order"] = orders[mode].wait()
    finally:
        for pending in orders.values():
            pending.cancel()

    progress.step(6)
    manifest = _manifest(opts, extract, crs, precinct_source, graph_arrays, report)
    manifest["address_sources"] = address_counts
    manifest.update(opts.extra_manifest)
    _write_bundle(opts.out, manifest, graph_arrays, t0, precincts=precincts, posts=posts, roster=roster,
                  addresses=addresses, streets=streets, buildings=buildings)
    logger.info("built %s in %.1f s: %s", opts.out, manifest["build_seconds"], manifest["counts"])
    return manifest


def _precincts(opts: BuildOptions, walk: RoadGraph, official: pd.DataFrame | None, posts: pd.DataFrame,
               roster: pd.DataFrame, built: np.ndarray, crs: Any,
               report: ProblemReport) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The official precincts (posts attached) or ones derived from the posts; checked against the roster.

    Returns (precincts, posts, precinct source: ``"official"`` or ``"derived"``).
    """
    if official is not None:
        precincts = official.assign(source="official")
        precincts["post_id"] = ""
        posts = _attach_posts(posts, precincts)
        for pid, post_id in zip(posts.precinct_id, posts.post_id):
            precincts.loc[(precincts.precinct_id == pid) & (precincts.post_id == ""), "post_id"] = post_id
        precinct_source = "official"
    else:
        precincts, pids = derive_precincts(walk, posts, built, crs=crs)
        posts = posts.assign(precinct_id=pids)
        precincts = precincts.assign(source="derived")
        precinct_source = "derived"
    if len(roster):
        check_roster_precincts(roster, precincts.precinct_id.tolist(),
                               roster_name=opts.roster.name if opts.roster else "roster",
                               precincts_name=opts.precincts.name if opts.precincts else "derived precincts",
                               report=report)
    else:
        report.warning("roster", "-", "no roster given: precincts have no inspector",
                       "pass --roster with one row per inspector")
    report.raise_if_fatal()
    return precincts, posts, precinct_source


def _manifest(opts: BuildOptions, extract: OsmExtract, crs: Any, precinct_source: str,
              graph_arrays: _Graphs,
              report: ProblemReport) -> dict[str, Any]:
    """The bundle's manifest: version, sources, statistics and problems (counts are added on writing)."""
    now = clock.now()
    city = opts.city or opts.osm.name.split(".")[0]
    digest = _sha256(opts.osm)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "city": city,
        "bundle_version": f"{city}-{now:%Y%m%dT%H%M%SZ}-{digest[:8]}",
        "built_at": now.isoformat(timespec="seconds"),
        "built_by": f"geo-service {__version__}",
        "source": {"osm": opts.osm.name, "osm_sha256": digest, "osm_bytes": opts.osm.stat().st_size,
                   "precincts": opts.precincts.name if opts.precincts else None,
                   "roster": opts.roster.name if opts.roster else None,
                   "posts": opts.posts.name if opts.posts else None,
                   "addresses": opts.addresses.name if opts.addresses else None, "clip": opts.clip},
        "attribution": "© OpenStreetMap contributors",
        "crs_projected": crs.to_string(),
        "bbox": list(extract.bounds),
        "precinct_source": precinct_source,
        "osm_stats": extract.stats,
        "graph_stats": {m: graph_arrays[m][2] for m in MODES},
        "problems": report.lines(),
    }
    return manifest


def _write_bundle(out: Path, manifest: dict[str, Any],
                  graph_arrays: _Graphs, t0: float, *,
                  precincts: pd.DataFrame, posts: pd.DataFrame, roster: pd.DataFrame, addresses: pd.DataFrame,
                  streets: pd.DataFrame, buildings: pd.DataFrame) -> None:
    """Write the bundle's files into ``out`` atomically; add the build time and counts to ``manifest``."""
    with atomic_folder(out) as tmp:
        for mode in MODES:
            arrays, names, _ = graph_arrays[mode]
            RoadGraph.save_npz(tmp / f"graph_{mode}.npz", mode, arrays)
            (tmp / f"names_{mode}.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
        write_geoparquet(tmp / "precincts.parquet", precincts.drop(columns="geometry")[
            ["precinct_id", "name", "source", "post_id"]].astype(str), precincts.geometry.to_numpy())
        write_table(tmp / "posts.parquet", posts)
        write_table(tmp / "roster.parquet", roster)
        write_table(tmp / "addresses.parquet", addresses)
        write_table(tmp / "streets.parquet", streets)
        write_geoparquet(tmp / "buildings.parquet", buildings.drop(columns="wkb"), buildings.wkb.to_numpy())
        manifest["tiles"] = write_tiles(tmp / TILES_FILE, graph_arrays, precincts)  # the pages' base map
        grid = PrecinctGrid.build(precincts.geometry.to_numpy())  # batch lookups, memory-mapped by the server
        grid.save(tmp)
        manifest["lookup_grid"] = {"blocks": [grid.ny, grid.nx], "fine_blocks": len(grid.fine), "bytes": grid.nbytes}
        manifest["build_seconds"] = round(time.perf_counter() - t0, 2)
        manifest["counts"] = {"precincts": len(precincts), "inspectors": len(roster), "posts": len(posts),
                              "addresses": len(addresses), "buildings": len(buildings), "streets": len(streets),
                              **{f"{m}_{k}": graph_arrays[m][2][k] for m in MODES for k in ("nodes", "edges")}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _roster(opts: BuildOptions, report: ProblemReport) -> pd.DataFrame:
    if opts.roster_frame is not None:
        return opts.roster_frame
    if opts.roster is None:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in (*ROSTER_REQUIRED, *ROSTER_OPTIONAL)})
    return read_roster(opts.roster, report)


def _posts(opts: BuildOptions, roster: pd.DataFrame, extract: OsmExtract, report: ProblemReport) -> pd.DataFrame:
    """Posts by priority: a given frame, the posts file, the roster's post columns, OSM police."""
    if opts.posts_frame is not None:
        return opts.posts_frame
    if opts.posts is not None:
        return read_posts(opts.posts, report)
    if len(roster) and roster.post_lat.notna().any():
        return posts_from_roster(roster)
    return posts_from_osm(extract.police, ways=extract.ways, report=report, source=opts.osm.name,
                          keep_all=opts.all_police)


def _attach_posts(posts: pd.DataFrame, precincts: pd.DataFrame) -> pd.DataFrame:
    """Give posts without a precinct id the id of the official precinct containing them."""
    posts = posts.copy()
    geoms = precincts.geometry.to_numpy()
    for i in np.flatnonzero(posts.precinct_id.to_numpy() == ""):
        inside = shapely.intersects_xy(geoms, posts.lon.iloc[i], posts.lat.iloc[i])
        if inside.any():
            posts.iloc[i, posts.columns.get_loc("precinct_id")] = precincts.precinct_id.iloc[int(np.argmax(inside))]
    return posts


#: Buildings are measured this many at a time: their shapely objects (about 600 bytes each) are
#: made per chunk and dropped, and the frame keeps the WKB the bundle stores.
BUILDING_CHUNK = 100_000


def _buildings(extract: OsmExtract, crs: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The buildings (``wkb`` kept, ``area_m2`` added) and a point on each one's surface."""
    b = extract.buildings
    area = np.zeros(len(b))
    pts = np.zeros((len(b), 2))
    wkb = b.wkb.to_numpy()
    for lo in range(0, len(b), BUILDING_CHUNK):
        geoms = shapely.from_wkb(wkb[lo:lo + BUILDING_CHUNK])
        area[lo:lo + len(geoms)] = shapely.area(to_utm(geoms, crs))
        pts[lo:lo + len(geoms)] = shapely.get_coordinates(shapely.point_on_surface(geoms))
    return b.assign(area_m2=area), pts
