"""The city bundle: one folder holding everything the server needs.

Layout (format version 1)::

    manifest.json          city, version, sources, CRS, extent, counts, build report
    graph_walk.npz         walking graph arrays (CSR order) and CCH node order
    graph_drive.npz        driving graph arrays
    names_walk.json        street names of the walking graph's edges (by name_id)
    names_drive.json
    precincts.parquet      GeoParquet: precinct_id, name, source, post_id, geometry
    posts.parquet          post_id, name, address, lat, lon, precinct_id, source
    roster.parquet         the inspector roster
    addresses.parquet      addr_id, street, place, housenumber, lat, lon, osm_type, osm_id
    streets.parquet        name, name_kk, name_ru, old_name, lat, lon, length_m
    buildings.parquet      GeoParquet: osm_id, building, levels, street, housenumber, area_m2, geometry

A bundle is written to a temporary folder beside its destination and renamed into
place at the end, so a failed build leaves nothing half-written, and a rebuild
replaces the old bundle in one step. Geo layers are GeoParquet (they open in QGIS);
the server reads them with pyarrow and shapely, without importing geopandas.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from geo_service.errors import BundleError
from geo_service.network.graph import MODES, RoadGraph

logger = logging.getLogger(__name__)
T = TypeVar("T")

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = (MANIFEST, "graph_walk.npz", "graph_drive.npz", "names_walk.json", "names_drive.json",
                  "precincts.parquet", "posts.parquet", "roster.parquet", "addresses.parquet",
                  "streets.parquet")


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out`` only if the block succeeds."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}-{time.monotonic_ns()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_geoparquet(path: Path, frame: pd.DataFrame, geometry: np.ndarray) -> None:
    """Write ``frame`` plus a WKB geometry column as GeoParquet (EPSG:4326)."""
    import geopandas as gpd  # noqa: PLC0415 - build-time writer; serving reads with pyarrow (start-up time)

    gdf = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geometry), crs=4326)
    gdf.to_parquet(path, index=False)


def read_geoparquet(path: Path) -> pd.DataFrame:
    """Read GeoParquet into a DataFrame whose ``geometry`` column holds shapely objects."""
    table = pq.read_table(path)
    frame = table.drop_columns(["geometry"]).to_pandas()
    frame["geometry"] = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    return frame


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write a plain table as Parquet."""
    pq.write_table(pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False), path)


@dataclass
class CityBundle:
    """A loaded city: graphs, precincts, roster, posts, addresses and streets."""

    path: Path
    manifest: dict[str, Any]
    walk: RoadGraph
    drive: RoadGraph
    precincts: pd.DataFrame
    posts: pd.DataFrame
    roster: pd.DataFrame
    addresses: pd.DataFrame
    streets: pd.DataFrame
    load_seconds: float = 0.0
    _buildings: pd.DataFrame | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def cached(self, name: str, factory: Callable[[], T]) -> T:
        """A service derived from this city (a lookup index, ...), built once.

        Services live with the city: a bundle reload brings its own. The lock is re-entrant,
        so a factory may itself ask for another cached service.
        """
        value = self._cache.get(name)
        if value is None:
            with self._lock:
                value = self._cache.get(name)
                if value is None:
                    value = self._cache[name] = factory()
        return value

    def graph(self, mode: str) -> RoadGraph:
        """The graph for ``walk`` or ``drive``."""
        return self.walk if mode == "walk" else self.drive

    def buildings(self) -> pd.DataFrame:
        """Building footprints, read on first use (only siting and workload need them)."""
        if self._buildings is None:
            self._buildings = read_geoparquet(self.path / "buildings.parquet")
        return self._buildings

    def counts(self) -> dict[str, int]:
        return {
            "precincts": len(self.precincts),
            "inspectors": len(self.roster),
            "posts": len(self.posts),
            "addresses": len(self.addresses),
            "streets": len(self.streets),
            "walk_nodes": self.walk.n_nodes, "walk_edges": self.walk.n_edges,
            "drive_nodes": self.drive.n_nodes, "drive_edges": self.drive.n_edges,
        }

    def summary(self) -> dict[str, Any]:
        """What ``/readyz`` reports."""
        return {
            "city": self.manifest["city"],
            "bundle_version": self.manifest["bundle_version"],
            "format_version": self.manifest["format_version"],
            "built_at": self.manifest["built_at"],
            "precinct_source": self.manifest["precinct_source"],
            "counts": self.counts(),
        }


def load_bundle(path: Path | str) -> CityBundle:
    """Load a bundle written by `geo_service.ingest.build.build_city`.

    Raises
    ------
    BundleError
        When the folder is missing, incomplete, or of another format version.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if not path.is_dir():
        msg = f"{path}: no city bundle here; fix: run `geo-service build ... --out {path}` first"
        raise BundleError(msg)
    missing = [f for f in REQUIRED_FILES if not (path / f).exists()]
    if missing:
        msg = f"{path}: the bundle is incomplete (missing {', '.join(missing)}); fix: build it again"
        raise BundleError(msg)
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        msg = (f"{path}: bundle format {manifest.get('format_version')} is not {FORMAT_VERSION}; "
               "fix: rebuild it with this version of geo-service")
        raise BundleError(msg)
    graphs = {}
    for mode in MODES:
        names = json.loads((path / f"names_{mode}.json").read_text(encoding="utf-8"))
        graphs[mode] = RoadGraph.from_npz(path / f"graph_{mode}.npz", names)
    bundle = CityBundle(
        path=path, manifest=manifest, walk=graphs["walk"], drive=graphs["drive"],
        precincts=read_geoparquet(path / "precincts.parquet"),
        posts=pq.read_table(path / "posts.parquet").to_pandas(),
        roster=pq.read_table(path / "roster.parquet").to_pandas(),
        addresses=pq.read_table(path / "addresses.parquet").to_pandas(),
        streets=pq.read_table(path / "streets.parquet").to_pandas(),
    )
    bundle.load_seconds = time.perf_counter() - t0
    logger.info("loaded bundle %s (%s, %s) in %.3f s", path, manifest["city"],
                manifest["bundle_version"], bundle.load_seconds)
    return bundle
