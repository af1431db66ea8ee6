"""Distances on the sphere and the UTM zone of a city (Kazakhstan spans zones 39N-45N)."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (vectorised)."""
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def utm_crs(lon: float, lat: float) -> CRS:
    """The UTM zone CRS for a point (Kazakhstan spans zones 39N-45N)."""
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def to_utm(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Project EPSG:4326 shapely geometries to ``crs``."""
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def from_utm(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Project geometries in ``crs`` back to EPSG:4326."""
    tr = Transformer.from_crs(crs, 4326, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
