"""The embedded demo city: Almaty, from a real OpenStreetMap extract shipped with the package.

``geo_service/data/almaty/almaty-2012.osm.pbf`` is OpenStreetMap's Almaty as of
2012-03-13 (728 KB; CC BY-SA 2.0, "© OpenStreetMap contributors", see the ``ATTRIBUTION``
file beside it). Its ``amenity=police`` objects that receive residents are the demo's posts
(`geo_service.ingest.roster.posts_from_osm`; those that would share a road node with an
earlier one are left out, `demo_posts`), the precincts are
derived from them by walking time and labelled provisional (derived, not the police's),
and a clearly labelled fictitious roster (`demo_roster`) staffs each one. The city's
name is given in Kazakh, Russian and English (`DEMO_CITY_NAMES`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo_service.errors import InputFileError
from geo_service.ingest.build import BuildOptions, Progress, build_city
from geo_service.ingest.osm import OsmExtract, read_osm
from geo_service.ingest.roads import build_graph
from geo_service.ingest.roster import posts_from_osm
from geo_service.network.geodesy import EARTH_RADIUS_M
from geo_service.version import __version__

DEMO_CITY: Final[str] = "almaty-demo"
DEMO_CITY_NAMES: Final[dict[str, str]] = {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"}
DEMO_ATTRIBUTION: Final[str] = "© OpenStreetMap contributors (Almaty, 2012 extract, CC BY-SA 2.0)"
DEMO_NOTE: Final[str] = ("OpenStreetMap's Almaty of 2012 (CC BY-SA 2.0); posts are the extract's police "
                         "objects, precincts derived from them (provisional), inspectors fictitious")
_DATA: Final[Path] = Path(__file__).resolve().parent.parent / "data" / "almaty"


def demo_osm_path() -> Path:
    """The Almaty extract shipped with the package (``geo_service/data/almaty``)."""
    path = _DATA / "almaty-2012.osm.pbf"
    if not path.exists():
        msg = f"{path}: the demo extract is missing from the package; fix: reinstall geo-service"
        raise InputFileError(msg)
    return path


def demo_cache_dir() -> Path:
    """Where the demo bundle is cached: ``$GEO_SERVICE_CACHE`` or ``~/.cache/geo-service``."""
    root = os.environ.get("GEO_SERVICE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "geo-service")
    return Path(root)


def demo_posts(extract: OsmExtract) -> pd.DataFrame:
    """The demo's posts: the extract's police posts (`posts_from_osm`), one per road node.

    A precinct is derived per road node a post stands at (posts at the same node would
    share it, and only the first would get a precinct), so a post whose nearest walking
    node is an earlier post's is left out; the node is found as the build finds it.
    Each post gets the precinct id ``DEMO-01``, ``DEMO-02``, ... in order.
    """
    posts = posts_from_osm(extract.police)
    arrays, _, _ = build_graph(extract.ways, "walk", with_order=False)  # only the nodes
    lat, lon = np.asarray(arrays["lat"], dtype=np.float64), np.asarray(arrays["lon"], dtype=np.float64)
    if len(posts) and len(lat):
        kx = math.cos(math.radians(float(np.mean(lat)))) * EARTH_RADIUS_M * math.pi / 180
        ky = EARTH_RADIUS_M * math.pi / 180
        _, node = cKDTree(np.column_stack([lon * kx, lat * ky])).query(
            np.column_stack([posts.lon.to_numpy() * kx, posts.lat.to_numpy() * ky]))
        posts = posts[~pd.Series(node).duplicated().to_numpy()].reset_index(drop=True)
    return posts.assign(precinct_id=[f"DEMO-{i + 1:02d}" for i in range(len(posts))],
                        source="OpenStreetMap amenity=police (2012)")


def demo_roster(posts: pd.DataFrame) -> pd.DataFrame:
    """One clearly labelled fictitious inspector per demo precinct (names say so in three languages)."""
    ranks = ("капитан полиции", "майор полиции", "старший лейтенант полиции")
    n = len(posts)
    return pd.DataFrame({
        "inspector_id": [f"DEMO-UI-{i + 1:02d}" for i in range(n)],
        "precinct_id": posts.precinct_id.to_numpy(),
        "inspector_name": [f"Демо-инспектор {i + 1} (fictitious, ойдан шығарылған)" for i in range(n)],
        "rank": [ranks[i % len(ranks)] for i in range(n)],
        "phone": [f"+7 700 000 {i + 1:04d}" for i in range(n)],
        "reception_hours": "Вт/Чт 17:00-20:00",
        "post_lat": posts.lat.to_numpy(), "post_lon": posts.lon.to_numpy(),
        "post_address": [str(a) if a else f"{name} (demo)" for a, name in zip(posts.address, posts.name)],
    })


def ensure_demo_bundle(*, rebuild: bool = False, progress: object | None = None) -> Path:
    """Build the demo bundle once (cached) and return its folder."""
    out = demo_cache_dir() / f"{DEMO_CITY}-{__version__}"
    if (out / "manifest.json").exists() and not rebuild:
        return out
    osm = demo_osm_path()
    extract = read_osm(osm)  # read once: for the demo posts and for the build
    posts = demo_posts(extract)
    opts = BuildOptions(osm=osm, out=out, city=DEMO_CITY, posts_frame=posts, roster_frame=demo_roster(posts),
                        extract=extract,
                        extra_manifest={"demo": True, "demo_note": DEMO_NOTE, "city_names": dict(DEMO_CITY_NAMES),
                                        "attribution": DEMO_ATTRIBUTION})
    build_city(opts, progress=progress if isinstance(progress, Progress) else None)
    return out
