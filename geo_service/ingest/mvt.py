"""A Mapbox Vector Tile 2.1 encoder over numpy arrays, for the base map's tiles (`tiles`).

`mapbox_vector_tile.encode` walks every coordinate in Python (about 75 % of the tile step's
time); here a tile's geometries are taken apart with shapely's array functions, moved to the
tile's units, rounded, de-duplicated, oriented (exterior rings clockwise on screen, holes
counter-clockwise, as the specification asks) and turned into the command stream and its
varints with numpy; Python only joins each feature's bytes.

The protobuf messages written (vector_tile.proto): ``Tile.layers`` (3) -> ``Layer`` with
``version`` (15) = 2, ``name`` (1), ``features`` (2), ``keys`` (3), ``values`` (4, string values
only) and ``extent`` (5); ``Feature`` with ``tags`` (2, packed), ``type`` (3) and ``geometry``
(4, packed). A property whose value is the empty string is left out of the feature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
import shapely

__all__ = ["LINE", "POINT", "POLYGON", "encode_layer", "encode_tile"]

POINT: Final[int] = 1
LINE: Final[int] = 2
POLYGON: Final[int] = 3
_MOVE_TO_1: Final[int] = (1 << 3) | 1
_CLOSE: Final[int] = (1 << 3) | 7


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protobuf varints of non-negative integers below 2**32: (bytes, byte offset of each value, with the end)."""
    v = np.asarray(values, dtype=np.uint64)
    size = 1 + (v >= 1 << 7).astype(np.int64) + (v >= 1 << 14) + (v >= 1 << 21) + (v >= 1 << 28)
    k = np.arange(5, dtype=np.uint64)
    groups = ((v[:, None] >> (k * np.uint64(7))) & np.uint64(0x7F)).astype(np.uint8)
    more = np.arange(5)[None, :] < (size[:, None] - 1)
    groups |= (more * 0x80).astype(np.uint8)
    keep = np.arange(5)[None, :] < size[:, None]
    offsets = np.zeros(len(v) + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    return groups[keep], offsets


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(d: np.ndarray) -> np.ndarray:
    return (d << 1) ^ (d >> 63)


def _points_of(geoms: np.ndarray, kind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The parts to draw: (coordinates, part of each coordinate, feature of each part, ring or not per
    part, polygon of each part), coordinates still in the source units, rings without their closing
    point; a polygon's first ring is its exterior."""
    if kind == POLYGON:
        polys, feat = shapely.get_parts(geoms, return_index=True)
        ok = shapely.get_type_id(polys) == 3
        polys, feat = polys[ok], feat[ok]
        rings, poly_of = shapely.get_rings(polys, return_index=True)
        feat = feat[poly_of]
        xy, part = shapely.get_coordinates(rings, return_index=True)
        last = np.r_[part[1:] != part[:-1], True] if len(part) else np.zeros(0, bool)
        return xy[~last], part[~last], feat, np.ones(len(rings), dtype=bool), poly_of
    parts, feat = shapely.get_parts(geoms, return_index=True)
    ok = shapely.get_type_id(parts) == (1 if kind == LINE else 0)
    parts, feat = parts[ok], feat[ok]
    xy, part = shapely.get_coordinates(parts, return_index=True)
    return xy, part, feat, np.zeros(len(parts), dtype=bool), np.arange(len(parts))


def _geometry_streams(geoms: np.ndarray, kind: int, bounds: Sequence[float],
                      extent: int) -> tuple[np.ndarray, bytes, np.ndarray]:
    """The features that keep a geometry, their packed geometry bytes and each one's byte range."""
    minx, _, maxx, maxy = bounds
    k = extent / (maxx - minx)
    xy, part, feat, ring, poly = _points_of(geoms, kind)
    n_parts = len(feat)
    pts = np.empty((len(xy), 2), dtype=np.int64)
    pts[:, 0] = np.round((xy[:, 0] - minx) * k)
    pts[:, 1] = np.round((maxy - xy[:, 1]) * k)
    # Drop repeated points (the rounding makes them) within a part, then parts too short to draw.
    first = np.r_[True, part[1:] != part[:-1]] if len(part) else np.zeros(0, bool)
    same = np.r_[False, (pts[1:] == pts[:-1]).all(axis=1)] if len(pts) else np.zeros(0, bool)
    keep = first | ~same
    pts, part = pts[keep], part[keep]
    count = np.bincount(part, minlength=n_parts)
    need = np.where(ring, 3, 1 if kind == POINT else 2)
    if kind == POLYGON:
        area = _ring_areas(pts, part, n_parts)
        good = (count >= 3) & (area != 0)
        exterior = np.r_[True, poly[1:] != poly[:-1]] if len(poly) else np.zeros(0, bool)
        # A hole whose exterior is gone goes with it.
        alive = np.zeros(int(poly.max()) + 1 if len(poly) else 0, dtype=bool)
        alive[poly[exterior & good]] = True
        good &= alive[poly]
        flip = good & ((area > 0) != exterior)
        pts = _reverse_parts(pts, part, count, flip)
    else:
        good = count >= need
    keep = good[part]
    pts, part = pts[keep], part[keep]
    remap = np.cumsum(good) - 1
    part, feat, ring, count = remap[part], feat[good], ring[good], count[good]
    if not len(feat):
        return np.zeros(0, dtype=np.int64), b"", np.zeros(1, dtype=np.int64)
    # Deltas from the cursor, which starts at (0, 0) for each feature and moves through its parts.
    feat_of_pt = feat[part]
    prev = np.vstack([np.zeros((1, 2), dtype=np.int64), pts[:-1]])
    prev[np.r_[True, feat_of_pt[1:] != feat_of_pt[:-1]]] = 0
    zz = _zigzag(pts - prev)
    length = np.where(count > 1, 4 + 2 * (count - 1), 3) + ring
    start = np.cumsum(length) - length
    out = np.zeros(int(length.sum()), dtype=np.int64)
    out[start] = _MOVE_TO_1
    head = np.r_[True, part[1:] != part[:-1]]
    out[start + 1], out[start + 2] = zz[head, 0], zz[head, 1]
    multi = count > 1
    out[start[multi] + 3] = 2 | ((count[multi] - 1) << 3)
    within = np.arange(len(part)) - np.repeat(np.cumsum(count) - count, count)
    rest = ~head
    pos = start[part[rest]] + 4 + 2 * (within[rest] - 1)
    out[pos], out[pos + 1] = zz[rest, 0], zz[rest, 1]
    out[(start + length - 1)[ring]] = _CLOSE
    data, offsets = _varints(out)
    feats, first_part = np.unique(feat, return_index=True)
    ends = np.r_[first_part[1:], len(feat)]
    byte_range = offsets[np.r_[start[first_part], start[ends - 1] + length[ends - 1]]]
    return feats, data.tobytes(), np.r_[byte_range[:len(feats)], byte_range[-1]]


def _ring_areas(pts: np.ndarray, part: np.ndarray, n_parts: int) -> np.ndarray:
    """Twice the signed area of each ring (surveyor's formula in tile units, y down), as integers."""
    if not len(pts):
        return np.zeros(n_parts, dtype=np.int64)
    nxt = np.arange(1, len(pts) + 1)
    last = np.r_[part[1:] != part[:-1], True]
    starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
    nxt[last] = starts
    cross = pts[:, 0] * pts[nxt, 1] - pts[nxt, 0] * pts[:, 1]
    return np.bincount(part, weights=cross, minlength=n_parts).round().astype(np.int64)


def _reverse_parts(pts: np.ndarray, part: np.ndarray, count: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """The points with the order of each ``flip`` part reversed."""
    if not flip.any():
        return pts
    start = np.cumsum(count) - count
    idx = np.arange(len(pts))
    s, n = start[part], count[part]
    rev = s + n - 1 - (idx - s)
    return pts[np.where(flip[part], rev, idx)]


def encode_layer(name: str, geoms: np.ndarray, kind: int, properties: Mapping[str, np.ndarray],
                 bounds: Sequence[float], *, extent: int = 4096) -> bytes:
    """One ``Layer`` message, or b"" when no feature keeps a geometry.

    Parameters
    ----------
    name
        The layer's name.
    geoms
        Shapely geometries in the units of ``bounds`` (Web Mercator metres): points for
        ``POINT``, (multi)lines for ``LINE``, (multi)polygons for ``POLYGON``; parts of another
        type (a clip's stray point) are left out.
    kind
        `POINT`, `LINE` or `POLYGON`.
    properties
        Per key, one string per geometry.
    bounds
        The tile's (minx, miny, maxx, maxy); ``(minx, maxy)`` is the tile's (0, 0).
    extent
        Tile units across the tile.
    """
    geoms = np.asarray(geoms, dtype=object)
    feats, data, ranges = _geometry_streams(geoms, kind, bounds, extent)
    if not len(feats):
        return b""
    keys = [k for k in properties]
    cols = [np.asarray(properties[k], dtype=object)[feats].astype(str) for k in keys]
    codes, uniques = pd.factorize(np.concatenate(cols)) if cols else (np.zeros(0, np.int64), np.zeros(0, object))
    codes = codes.reshape(len(keys), len(feats)).T if keys else np.zeros((len(feats), 0), np.int64)
    empty = np.asarray([u == "" for u in uniques], dtype=bool)
    tag_pairs = np.stack([np.broadcast_to(np.arange(len(keys)), codes.shape), codes], axis=2)
    shown = ~empty[codes] if len(uniques) else np.zeros(codes.shape, bool)
    tag_count = shown.sum(axis=1) * 2
    tag_data, tag_off = _varints(tag_pairs[shown].reshape(-1))
    tag_bytes = tag_data.tobytes()
    tag_ranges = tag_off[np.r_[0, np.cumsum(tag_count)]]
    type_field = b"\x18" + bytes([kind])
    parts = [b"\x78\x02", b"\x0a", _varint(len(name.encode())), name.encode()]
    for i in range(len(feats)):
        t0, t1 = tag_ranges[i], tag_ranges[i + 1]
        g0, g1 = ranges[i], ranges[i + 1]
        body = b"".join((b"\x12", _varint(t1 - t0), tag_bytes[t0:t1], type_field,
                         b"\x22", _varint(g1 - g0), data[g0:g1])) if t1 > t0 else \
            b"".join((type_field, b"\x22", _varint(g1 - g0), data[g0:g1]))
        parts += (b"\x12", _varint(len(body)), body)
    for k in keys:
        kb = k.encode()
        parts += (b"\x1a", _varint(len(kb)), kb)
    for u in uniques:
        ub = str(u).encode()
        value = b"\x0a" + _varint(len(ub)) + ub
        parts += (b"\x22", _varint(len(value)), value)
    parts += (b"\x28", _varint(extent))
    return b"".join(parts)


def encode_tile(layers: Sequence[bytes]) -> bytes:
    """A ``Tile`` message of encoded layers (`encode_layer`); empty layers are left out."""
    return b"".join(b"\x1a" + _varint(len(layer)) + layer for layer in layers if layer)
