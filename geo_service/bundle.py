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
    addresses.parquet      addr_id, address_id (the register's code), street, street_kk, street_ru, place,
                           housenumber, lat, lon, district, source (register | osm), osm_type, osm_id
    streets.parquet        name, name_kk, name_ru, old_name, lat, lon, length_m
    buildings.parquet      GeoParquet: osm_id, building, levels, street, housenumber, area_m2, geometry
    tiles.pmtiles          the pages' base map: PMTiles of gzip vector tiles (layers roads, precincts,
                           labels; zooms 8-14), served as /tiles/<version>/<z>/<x>/<y>.mvt

Versions and the live link: ``build --out X`` writes into a temporary folder under
``X.builds/``, renames it there to its version (``X.builds/<UTC time>-<pid>``) and then
points ``X``, a symbolic link, at it with one ``os.replace`` of a new link: a reader always
finds ``X``, old or new, never a half-written or absent folder. The two newest versions are
kept (the one in service and the one before, to go back to); older ones and the temporary
folders of builds that were killed are removed by the next build. An ``X`` that is a real
folder (a bundle of an older geo-service) moves into ``X.builds/`` once, swapped with the
link in one ``renameat2(RENAME_EXCHANGE)`` where Linux offers it.

`load_bundle` resolves the link once and reads everything from the folder it points to,
buildings included, so the bundle in memory does not depend on the folder afterwards: it
may be moved, rebuilt or deleted. Geo layers are GeoParquet (they open in QGIS); the server
reads them with pyarrow and shapely, without importing geopandas.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import shutil
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

from geo_service.errors import BundleError, InputError
from geo_service.network.graph import MODES, RoadGraph

logger = logging.getLogger(__name__)
T = TypeVar("T")

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = (MANIFEST, "graph_walk.npz", "graph_drive.npz", "names_walk.json", "names_drive.json",
                  "precincts.parquet", "posts.parquet", "roster.parquet", "addresses.parquet",
                  "streets.parquet")


#: Versions kept in ``X.builds/``: the one in service and the one before it.
KEEP_VERSIONS = 2
_TMP = ".tmp-"
_BUILD_LOCK = ".lock"


def builds_folder(out: Path) -> Path:
    """Where the versions of the bundle ``out`` (a link) live: ``out.builds`` beside it."""
    out = Path(out).absolute()
    return out.parent / f"{out.name}.builds"


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path`` (created); yields whether it was had (``wait=False``)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes the bundle ``out`` only if the block succeeds.

    The folder becomes a new version in ``X.builds/`` and ``out`` a link to it, replaced
    in one step (see the module docstring). While the block runs, the temporary folder's
    lock file is held, so another build (or a process cleaning up) knows it is alive.
    """
    out = Path(out).absolute()
    _check_destination(out)
    builds = builds_folder(out)
    builds.mkdir(parents=True, exist_ok=True)
    with _locked(builds / _BUILD_LOCK):  # one build at a time creates, swaps and cleans
        remove_leftovers(out)
        tmp = builds / f"{_TMP}{_version_name(time.time())}"
        hold = os.open(f"{tmp}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(hold, fcntl.LOCK_EX)
        tmp.mkdir()
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        with _locked(builds / _BUILD_LOCK):
            final = builds / _version_name(time.time())
            tmp.rename(final)
            _point_link(out, final)
            remove_leftovers(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{tmp}.lock")
        os.close(hold)


def _check_destination(out: Path) -> None:
    if out.is_symlink() or not out.exists():
        return
    if not out.is_dir():
        msg = f"{out} is a file, not a bundle folder; fix: remove it or give another --out"
        raise InputError(msg)
    if any(out.iterdir()) and not (out / MANIFEST).exists():
        msg = f"{out} is a folder that holds no city bundle; fix: give another --out (it is not replaced)"
        raise InputError(msg)


def _version_name(t: float) -> str:
    """A version folder's name: sortable UTC time, and the pid so that two builds never collide."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z-{os.getpid()}"


def _point_link(out: Path, final: Path) -> None:
    """Make ``out`` a link to ``final`` in one step (a relative link: the pair may move together)."""
    tmp_link = out.parent / f".{out.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(os.path.relpath(final, out.parent))
    if out.is_symlink() or not out.exists():
        os.replace(tmp_link, out)
        return
    # A real folder (an older geo-service's bundle, or empty): it becomes a version too.
    stamp = (out / MANIFEST).stat().st_mtime if (out / MANIFEST).exists() else out.stat().st_mtime
    legacy = builds_folder(out) / _version_name(stamp)
    if _exchange(tmp_link, out):  # now `out` is the link and `tmp_link` the old folder
        tmp_link.rename(legacy)
        return
    logger.warning("%s: no atomic exchange here; the folder is absent while it becomes a link", out)
    out.rename(legacy)
    os.replace(tmp_link, out)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def remove_leftovers(out: Path) -> list[Path]:
    """Remove what builds of ``out`` left behind; return the paths removed.

    The temporary folders of builds that are no longer running (killed: their lock is
    free), temporary links, an older geo-service's temporary folders beside ``out``, and
    the versions beyond the `KEEP_VERSIONS` newest (the one ``out`` points to is kept).
    Call it holding the builds' lock (`atomic_folder` does).
    """
    out = Path(out).absolute()
    builds = builds_folder(out)
    removed: list[Path] = []
    if not builds.is_dir():
        return removed
    for entry in sorted(builds.iterdir()):
        if entry.name.startswith(_TMP) and not entry.name.endswith(".lock") and _abandoned(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    for lock in builds.glob(f"{_TMP}*.lock"):
        if not Path(str(lock)[:-5]).exists() and _abandoned(Path(str(lock)[:-5])):
            lock.unlink(missing_ok=True)
    for entry in out.parent.glob(f".{out.name}.*"):
        name = entry.name[len(out.name) + 2:]
        if name.startswith(("tmp-", "old-")) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)  # the two-rename swap of geo-service < 0.2
            removed.append(entry)
        elif name.startswith("link-") and entry.is_symlink():
            entry.unlink()
            removed.append(entry)
    removed += _prune(out, builds)
    return removed


def _abandoned(tmp: Path) -> bool:
    """Whether the build writing ``tmp`` is gone (its lock file is absent or not held)."""
    lock = Path(f"{tmp}.lock")
    if not lock.exists():
        return True
    with _locked(lock, wait=False) as had:
        if had:
            lock.unlink(missing_ok=True)
        return had


def _prune(out: Path, builds: Path) -> list[Path]:
    current = out.resolve() if out.is_symlink() else None
    versions = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    others = [p for p in versions if p != current]
    keep = {current, *others[: KEEP_VERSIONS - (current is not None)]}
    removed = []
    for old in versions:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


#: Geometries are measured (bounds, types) this many at a time while a layer is written.
_GEO_CHUNK = 100_000
_GEO_TYPES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}


def write_geoparquet(path: Path, frame: pd.DataFrame, geometry: np.ndarray) -> None:
    """Write ``frame`` plus a geometry column as GeoParquet 1.0 (WKB, EPSG:4326).

    ``geometry`` holds shapely objects or their WKB (``bytes``): a country's 1.6 M buildings
    stay WKB from the extract to the file, with shapely objects made only a chunk at a time.
    """
    from pyproj import CRS  # noqa: PLC0415 - build-time writer; serving reads with pyarrow (start-up time)

    geometry = np.asarray(geometry, dtype=object)
    is_wkb = len(geometry) > 0 and isinstance(geometry[0], bytes)
    wkb = geometry if is_wkb else shapely.to_wkb(geometry)
    box = np.array([np.inf, np.inf, -np.inf, -np.inf])
    types: set[str] = set()
    for lo in range(0, len(wkb), _GEO_CHUNK):
        chunk = shapely.from_wkb(wkb[lo:lo + _GEO_CHUNK]) if is_wkb else geometry[lo:lo + _GEO_CHUNK]
        b = shapely.total_bounds(chunk)  # NaN for a chunk of empty geometries: fmin/fmax skip it
        box = np.concatenate([np.fmin(box[:2], b[:2]), np.fmax(box[2:], b[2:])])
        types.update(_GEO_TYPES[t] for t in np.unique(shapely.get_type_id(chunk)).tolist() if t in _GEO_TYPES)
    column: dict[str, Any] = {"encoding": "WKB", "crs": CRS.from_epsg(4326).to_json_dict(),
                              "geometry_types": sorted(types)}
    if np.isfinite(box).all():
        column["bbox"] = box.tolist()
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    table = table.append_column("geometry", pa.array(wkb.tolist(), type=pa.binary()))
    geo = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)


def read_geoparquet(path: Path | pa.NativeFile) -> pd.DataFrame:
    """Read GeoParquet (a file, or bytes in memory) into a DataFrame whose ``geometry`` column
    holds shapely objects."""
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
    #: buildings.parquet as read at load time, decoded on first use (then dropped)
    _buildings_file: pa.Buffer | None = field(default=None, repr=False)
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
        """Building footprints (only siting and workload need them).

        The file was read into memory with the rest of the bundle; it is decoded on first
        use, so the bundle's folder may have moved or gone since.
        """
        if self._buildings is None:
            with self._lock:
                if self._buildings is None:
                    if self._buildings_file is None:
                        msg = f"{self.path.name}: the bundle has no buildings layer; fix: build it again"
                        raise BundleError(msg)
                    self._buildings = read_geoparquet(pa.BufferReader(self._buildings_file))
                    self._buildings_file = None
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
    """Load a bundle written by `geo_service.ingest.build.build_city`, whole.

    A link (the live bundle) is resolved once and everything is read from the folder it
    points to, so a rebuild swapping the link meanwhile does not mix two versions; should
    that folder vanish mid-load (pruned by yet another build), the new target is loaded.
    ``CityBundle.path`` is the resolved folder.

    Raises
    ------
    BundleError
        When the folder is missing, incomplete, or of another format version.
    """
    t0 = time.perf_counter()
    asked = Path(path)
    real = asked.resolve()
    try:
        bundle = _load_folder(real, asked)
    except OSError:
        again = asked.resolve()
        if again == real:
            raise
        logger.info("%s moved on to %s while loading; loading that", asked, again.name)
        bundle = _load_folder(again, asked)
    bundle.load_seconds = time.perf_counter() - t0
    logger.info("loaded bundle %s (%s, %s) in %.3f s", bundle.path, bundle.manifest["city"],
                bundle.manifest["bundle_version"], bundle.load_seconds)
    return bundle


def _load_folder(path: Path, asked: Path) -> CityBundle:
    if not path.is_dir():
        msg = f"{asked}: no city bundle here; fix: run `geo-service build ... --out {asked}` first"
        raise BundleError(msg)
    missing = [f for f in REQUIRED_FILES if not (path / f).exists()]
    if missing:
        msg = f"{asked}: the bundle is incomplete (missing {', '.join(missing)}); fix: build it again"
        raise BundleError(msg)
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        msg = (f"{asked}: bundle format {manifest.get('format_version')} is not {FORMAT_VERSION}; "
               "fix: rebuild it with this version of geo-service")
        raise BundleError(msg)
    graphs = {}
    for mode in MODES:
        names = json.loads((path / f"names_{mode}.json").read_text(encoding="utf-8"))
        graphs[mode] = RoadGraph.from_npz(path / f"graph_{mode}.npz", names)
    buildings = path / "buildings.parquet"
    return CityBundle(
        path=path, manifest=manifest, walk=graphs["walk"], drive=graphs["drive"],
        precincts=read_geoparquet(path / "precincts.parquet"),
        posts=pq.read_table(path / "posts.parquet").to_pandas(),
        roster=pq.read_table(path / "roster.parquet").to_pandas(),
        addresses=pq.read_table(path / "addresses.parquet").to_pandas(),
        streets=pq.read_table(path / "streets.parquet").to_pandas(),
        _buildings_file=pa.py_buffer(buildings.read_bytes()) if buildings.exists() else None,
    )
