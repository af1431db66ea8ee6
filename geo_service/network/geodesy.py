"""Geodesy, a leaf every floor may use: great-circle distances and UTM projections.

``haversine_m`` and ``EARTH_RADIUS_M`` measure on the sphere; ``utm_crs`` picks a point's UTM
zone (Kazakhstan spans zones 39N-45N) and ``to_utm`` / ``from_utm`` project shapely geometries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

import numpy as np
import numpy.typing as npt
import shapely

if TYPE_CHECKING:
    from pyproj import CRS

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


@overload
def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float: ...
@overload
def haversine_m(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike) -> np.ndarray: ...
def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> float | np.ndarray:
    """Great-circle distance in metres (vectorised; scalars in, a numpy float out)."""
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def utm_crs(lon: float, lat: float) -> CRS:
    """The UTM zone CRS for a point (Kazakhstan spans zones 39N-45N)."""
    zone = int((lon + 180) // 6) + 1
    from pyproj import CRS  # noqa: PLC0415 - pyproj loaded on first use (start-up time)

    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def to_utm(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Project EPSG:4326 shapely geometries to ``crs``."""
    from pyproj import Transformer  # noqa: PLC0415 - pyproj loaded on first use (start-up time)

    tr = Transformer.from_crs(4326, crs, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def from_utm(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Project geometries in ``crs`` back to EPSG:4326."""
    from pyproj import Transformer  # noqa: PLC0415 - pyproj loaded on first use (start-up time)

    tr = Transformer.from_crs(crs, 4326, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
