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

__all__ = ["LINE", "POINT", "POLYGON", "encode_layer", "encode_layers", "encode_tile"]

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


_SMALL: Final[list[bytes]] = []


def _vlen(n: int) -> bytes:
    """`_varint` of a length, from a table below 16384."""
    return _SMALL[n] if n < 16384 else _varint(n)


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
        last = np.zeros(len(part), dtype=bool)
        if len(part):
            last[:-1] = part[1:] != part[:-1]
            last[-1] = True
        return xy[~last], part[~last], feat, np.ones(len(rings), dtype=bool), poly_of
    parts, feat = shapely.get_parts(geoms, return_index=True)
    ok = shapely.get_type_id(parts) == (1 if kind == LINE else 0)
    parts, feat = parts[ok], feat[ok]
    xy, part = shapely.get_coordinates(parts, return_index=True)
    return xy, part, feat, np.zeros(len(parts), dtype=bool), np.arange(len(parts))


def _first_of_run(keys: np.ndarray) -> np.ndarray:
    """True where a value differs from the one before it (and at 0)."""
    out = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        np.not_equal(keys[1:], keys[:-1], out=out[1:])
    return out


def _geometry_streams(geoms: np.ndarray, kind: int, origin: np.ndarray,
                      scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The features that keep a geometry, their packed geometry bytes and each one's byte range.

    ``origin`` is each geometry's tile's (minx, maxy) (the tile's (0, 0)); ``scale`` tile units per metre.
    """
    xy, part, feat, ring, poly = _points_of(geoms, kind)
    n_parts = len(feat)
    o = origin[feat[part]] if len(part) else np.zeros((0, 2))
    pts = np.empty((len(xy), 2), dtype=np.int64)
    pts[:, 0] = np.round((xy[:, 0] - o[:, 0]) * scale)
    pts[:, 1] = np.round((o[:, 1] - xy[:, 1]) * scale)
    # Drop repeated points (the rounding makes them) within a part, then parts too short to draw.
    first = _first_of_run(part)
    same = np.zeros(len(pts), dtype=bool)
    if len(pts) > 1:
        same[1:] = (pts[1:] == pts[:-1]).all(axis=1)
    keep = first | ~same
    pts, part = pts[keep], part[keep]
    count = np.bincount(part, minlength=n_parts)
    if kind == POLYGON:
        area = _ring_areas(pts, part, n_parts)
        good = (count >= 3) & (area != 0)
        exterior = _first_of_run(poly)
        # A hole whose exterior is gone goes with it.
        alive = np.zeros(int(poly.max()) + 1 if len(poly) else 0, dtype=bool)
        alive[poly[exterior & good]] = True
        good &= alive[poly]
        flip = good & ((area > 0) != exterior)
        pts = _reverse_parts(pts, part, count, flip)
    else:
        good = count >= (1 if kind == POINT else 2)
    keep = good[part]
    pts, part = pts[keep], part[keep]
    remap = np.cumsum(good) - 1
    part, feat, ring, count = remap[part], feat[good], ring[good], count[good]
    if not len(feat):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    # Deltas from the cursor, which starts at (0, 0) for each feature and moves through its parts.
    prev = np.zeros_like(pts)
    prev[1:] = pts[:-1]
    prev[_first_of_run(feat[part])] = 0
    zz = _zigzag(pts - prev)
    length = np.where(count > 1, 4 + 2 * (count - 1), 3) + ring
    start = np.cumsum(length) - length
    out = np.zeros(int(length.sum()), dtype=np.int64)
    out[start] = _MOVE_TO_1
    head = _first_of_run(part)
    out[start + 1], out[start + 2] = zz[head, 0], zz[head, 1]
    multi = count > 1
    out[start[multi] + 3] = 2 | ((count[multi] - 1) << 3)
    within = np.arange(len(part)) - np.repeat(np.cumsum(count) - count, count)
    rest = ~head
    pos = start[part[rest]] + 4 + 2 * (within[rest] - 1)
    out[pos], out[pos + 1] = zz[rest, 0], zz[rest, 1]
    out[(start + length - 1)[ring]] = _CLOSE
    data, offsets = _varints(out)
    first_part = np.flatnonzero(_first_of_run(feat))
    bounds = np.append(start[first_part], len(out))
    return feat[first_part], data, offsets[bounds]


def _ring_areas(pts: np.ndarray, part: np.ndarray, n_parts: int) -> np.ndarray:
    """Twice the signed area of each ring (surveyor's formula in tile units, y down), as integers."""
    if not len(pts):
        return np.zeros(n_parts, dtype=np.int64)
    nxt = np.arange(1, len(pts) + 1)
    heads = _first_of_run(part)
    last = np.append(heads[1:], True)
    nxt[last] = np.flatnonzero(heads)
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


def encode_layers(name: str, geoms: np.ndarray, kind: int, tile: np.ndarray, origins: np.ndarray,
                  properties: Mapping[str, np.ndarray], *, scale: float, extent: int = 4096) -> dict[int, bytes]:
    """The ``Layer`` message of each tile that keeps a feature: {tile number: bytes}.

    Parameters
    ----------
    name
        The layer's name.
    geoms
        Shapely geometries in Web Mercator metres, already cut to their tiles: points for
        ``POINT``, (multi)lines for ``LINE``, (multi)polygons for ``POLYGON``; parts of another
        type (a clip's stray point) are left out. One tile's geometries are next to each other.
    kind
        `POINT`, `LINE` or `POLYGON`.
    tile
        Each geometry's tile number (non-decreasing).
    origins
        Per tile number, the tile's (minx, maxy) in metres: its (0, 0).
    properties
        Per key, one string per geometry.
    scale
        Tile units per metre.
    extent
        Tile units across the tile.
    """
    geoms = np.asarray(geoms, dtype=object)
    tile = np.asarray(tile, dtype=np.int64)
    feats, data, ranges = _geometry_streams(geoms, kind, np.asarray(origins, dtype=np.float64)[tile], scale)
    if not len(feats):
        return {}
    keys = list(properties)
    cols = [np.asarray(properties[k], dtype=object)[feats].astype(str) for k in keys]
    codes, uniques = pd.factorize(np.concatenate(cols)) if cols else (np.zeros(0, np.int64), np.zeros(0, object))
    codes = codes.reshape(len(keys), len(feats)).T
    shown = np.asarray([u != "" for u in uniques], dtype=bool)[codes] if len(uniques) else codes > 0
    # Each tile's own value table: the (tile, value) pairs it uses, numbered from 0 per tile.
    ftile = tile[feats]
    pair = np.repeat(ftile, len(keys)).reshape(codes.shape) * (len(uniques) + 1) + codes
    used, local = np.unique(pair[shown], return_inverse=True)
    used_tile = used // (len(uniques) + 1)
    tile_first = np.searchsorted(used_tile, used_tile, side="left")
    tags = np.stack([np.broadcast_to(np.arange(len(keys)), codes.shape)[shown],
                     np.arange(len(used))[local] - tile_first[local]], axis=1).reshape(-1)
    tag_data, tag_off = _varints(tags)
    tag_bytes, geom_bytes = tag_data.tobytes(), data.tobytes()
    tag_ranges = tag_off[np.append(0, np.cumsum(shown.sum(axis=1) * 2))]
    head = b"\x78\x02\x0a" + _varint(len(name.encode())) + name.encode()
    tail_keys = b"".join(b"\x1a" + _varint(len(k.encode())) + k.encode() for k in keys)
    extent_field = b"\x28" + _varint(extent)
    type_field = b"\x18" + bytes([kind])
    values = [b"\x0a" + _varint(len(str(u).encode())) + str(u).encode() for u in uniques]
    value_msgs = [b"\x22" + _varint(len(v)) + v for v in values]
    out: dict[int, bytes] = {}
    tiles_at = np.flatnonzero(_first_of_run(ftile))
    ends = np.append(tiles_at[1:], len(feats))
    used_at = np.searchsorted(used_tile, ftile[tiles_at], side="left")
    used_end = np.searchsorted(used_tile, ftile[tiles_at], side="right")
    tr, gr = tag_ranges.tolist(), ranges.tolist()
    for t0, t1, u0, u1 in zip(tiles_at.tolist(), ends.tolist(), used_at.tolist(), used_end.tolist()):
        parts = [head]
        for i in range(t0, t1):
            tags_i = tag_bytes[tr[i]:tr[i + 1]]
            geom_i = geom_bytes[gr[i]:gr[i + 1]]
            body = b"".join((b"\x12", _vlen(len(tags_i)), tags_i, type_field, b"\x22", _vlen(len(geom_i)),
                             geom_i)) if tags_i else b"".join((type_field, b"\x22", _vlen(len(geom_i)), geom_i))
            parts += (b"\x12", _vlen(len(body)), body)
        parts.append(tail_keys)
        parts += [value_msgs[int(c)] for c in (used[u0:u1] % (len(uniques) + 1)).tolist()]
        parts.append(extent_field)
        out[int(ftile[t0])] = b"".join(parts)
    return out


def encode_layer(name: str, geoms: np.ndarray, kind: int, properties: Mapping[str, np.ndarray],
                 bounds: Sequence[float], *, extent: int = 4096) -> bytes:
    """One tile's ``Layer`` message (`encode_layers` for one tile of ``bounds``), or b"" when no
    feature keeps a geometry."""
    minx, _, maxx, maxy = bounds
    layers = encode_layers(name, geoms, kind, np.zeros(len(geoms), dtype=np.int64), np.array([[minx, maxy]]),
                           properties, scale=extent / (maxx - minx), extent=extent)
    return layers.get(0, b"")


def encode_tile(layers: Sequence[bytes]) -> bytes:
    """A ``Tile`` message of encoded layers (`encode_layer`); empty layers are left out."""
    return b"".join(b"\x1a" + _varint(len(layer)) + layer for layer in layers if layer)


_SMALL.extend(_varint(i) for i in range(16384))
