"""What a planner reads for each site of a kept siting result, instead of its raw label
(``node-43.2554,76.9075``, ``grid-...``, ``building-123``, a post id).

A proposed site gets its rank (1, 2, ... in the order the marginal-gain table adds it, which
is the order of the result's ``marginal`` steps; then any chosen site the table does not
name, in the result's order); an existing post gets its name from the bundle's posts. Each
site also gets a place when the bundle knows one: the nearest address within
`ADDRESS_NEAR_M`, else the name of a street at the site's road node (or one step from it).
Street names are taken in the page's language where the bundle has that spelling
(``street_kk`` / ``street_ru`` of the addresses, ``name_kk`` / ``name_ru`` of the streets).
The words around them ("Site 1", "near ...") are the page's to translate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from geo_service.siting.map_layers import params

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.network.graph import RoadGraph

#: Labels the service made itself (candidates generated from nodes, a grid or buildings, or given
#: without labels); any other label is the planner's own name for the site, and is shown.
GENERATED_LABEL: Final = re.compile(r"^(site-\d+$|node-|grid-|building-)")
#: An address this close to a site (metres) names its place.
ADDRESS_NEAR_M: Final[float] = 60.0
#: A site farther than this from its mode's roads gets no street name.
STREET_NEAR_M: Final[float] = 150.0


def ranks(result: Mapping[str, Any]) -> dict[str, int]:
    """The rank of each chosen site's label: the marginal table's order of first mention, then
    the chosen sites it does not name, in the result's order."""
    chosen = [str(s.get("label") or "") for s in result.get("chosen") or []]
    wanted = set(chosen)
    order: list[str] = []
    for step in (result.get("marginal") or {}).get("steps") or []:
        order += [str(lb) for lb in step.get("sites") or [] if str(lb) in wanted and str(lb) not in order]
    order += [lb for lb in chosen if lb not in order]
    return {lb: k + 1 for k, lb in enumerate(order)}


def site_names(city: CityBundle, result: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """One entry per site, in the order of `geo_service.siting.map_layers.params` (existing
    first, then chosen): ``id`` (the raw label), ``kind`` (``existing`` / ``proposed``),
    ``rank`` (proposed sites; None for an existing post), ``post`` (an existing post's name,
    else None), ``given`` (a proposed site's label when the planner gave it, not the service),
    ``place`` (an address or a street, else None) and ``place_kind`` (``post``: the existing
    post's own address; ``address``: the nearest address; ``street``; or None)."""
    _minutes, mode, sites = params(result)
    n_existing = len(result.get("existing") or [])
    rank = ranks(result)
    posts = _posts(city)
    lat = np.array([_num(s.get("lat")) for s in sites], dtype=np.float64)
    lon = np.array([_num(s.get("lon")) for s in sites], dtype=np.float64)
    addresses = _nearest_addresses(city, lat, lon, lang)
    streets = _streets_at(city, city.graph(mode), lat, lon, lang)
    out = []
    for k, s in enumerate(sites):
        label = str(s.get("label") or "")
        existing = k < n_existing
        post = posts.get(label) if existing else None
        place, place_kind = (post["address"], "post") if post and post["address"] else (None, None)
        if place is None and addresses[k]:
            place, place_kind = addresses[k], "address"
        if place is None and streets[k]:
            place, place_kind = streets[k], "street"
        given = None if existing or not label or GENERATED_LABEL.match(label) else label
        out.append({"id": label, "kind": "existing" if existing else "proposed",
                    "rank": None if existing else rank.get(label), "post": post["name"] if post else None,
                    "given": given, "place": place, "place_kind": place_kind})
    return out


def _num(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def _text(frame: pd.DataFrame, column: str) -> list[str]:
    """A text column as stripped strings ('' where missing or absent)."""
    if column not in frame.columns:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v).strip() for v in frame[column]]


def _posts(city: CityBundle) -> dict[str, dict[str, str]]:
    """post_id -> the post's name and address (either may be '')."""
    p = city.posts
    return {pid: {"name": name, "address": addr}
            for pid, name, addr in zip(_text(p, "post_id"), _text(p, "name"), _text(p, "address"), strict=True)}


def _address_index(city: CityBundle) -> tuple[Any, dict[str, list[str]], list[str]]:
    """A KD-tree over the addresses that name a street or place (in the walk graph's plane),
    their street in each spelling, and their house numbers (no tree without such addresses)."""
    from scipy.spatial import cKDTree  # noqa: PLC0415 - scipy loaded on first use (start-up time)

    a = city.addresses
    street, place, house = _text(a, "street"), _text(a, "place"), _text(a, "housenumber")
    keep = np.array([bool(s or p) for s, p in zip(street, place, strict=True)], dtype=bool)
    keep &= a["lat"].notna().to_numpy() & a["lon"].notna().to_numpy()
    if not keep.any():
        return None, {"": []}, []
    idx = np.flatnonzero(keep)
    g = city.walk
    xy = np.column_stack([a["lon"].to_numpy(np.float64)[idx] * g.kx, a["lat"].to_numpy(np.float64)[idx] * g.ky])
    base = [street[i] or place[i] for i in idx]
    spelled = {"": base}
    for lang in ("kk", "ru"):
        own = _text(a, f"street_{lang}")
        spelled[lang] = [own[i] or b for i, b in zip(idx, base, strict=True)]
    return cKDTree(xy), spelled, [house[i] for i in idx]


def _nearest_addresses(city: CityBundle, lat: np.ndarray, lon: np.ndarray, lang: str) -> list[str | None]:
    """The nearest address within `ADDRESS_NEAR_M` of each point (``street house``), else None."""
    out: list[str | None] = [None] * len(lat)
    index = city.cached("siting:address_index", lambda: _address_index(city))
    ok = np.isfinite(lat) & np.isfinite(lon)
    tree, spelled, house = index
    if tree is None or not ok.any():
        return out
    g = city.walk
    dist, at = tree.query(np.column_stack([lon[ok] * g.kx, lat[ok] * g.ky]), distance_upper_bound=ADDRESS_NEAR_M)
    names = spelled.get(lang, spelled[""])
    for k, d, i in zip(np.flatnonzero(ok), dist, at, strict=True):
        if np.isfinite(d):
            out[k] = f"{names[i]} {house[i]}".strip()
    return out


def _street_spellings(city: CityBundle, lang: str) -> dict[str, str]:
    """A street's name -> its spelling in ``lang`` (the streets table's ``name_<lang>``)."""
    s = city.streets
    if lang not in ("kk", "ru") or f"name_{lang}" not in s.columns:
        return {}
    return {n: own for n, own in zip(_text(s, "name"), _text(s, f"name_{lang}"), strict=True) if n and own}


def _streets_at(city: CityBundle, graph: RoadGraph, lat: np.ndarray, lon: np.ndarray, lang: str) -> list[str | None]:
    """The street at each point's road node: the named edge leaving it with the most length,
    else one leaving a neighbour; None off the roads or where no street there has a name."""
    out: list[str | None] = [None] * len(lat)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any() or graph.n_nodes == 0:
        return out
    nodes, dist = graph.snap_many(lat[ok], lon[ok])
    spell = city.cached(f"siting:street_spellings:{lang}", lambda: _street_spellings(city, lang))
    for k, node, d in zip(np.flatnonzero(ok), nodes, dist, strict=True):
        if d <= STREET_NEAR_M:
            name = _named_edge(graph, [int(node)])
            if name is None:
                lo, hi = np.searchsorted(graph.tail, [node, node + 1])
                name = _named_edge(graph, [int(h) for h in graph.head[lo:hi]])
            out[k] = spell.get(name, name) if name else None
    return out


def _named_edge(graph: RoadGraph, nodes: Sequence[int]) -> str | None:
    """The name with the most length among the edges leaving ``nodes`` (edges are sorted by tail)."""
    length: dict[str, float] = {}
    for node in nodes:
        lo, hi = np.searchsorted(graph.tail, [node, node + 1])
        for e in range(int(lo), int(hi)):
            name = graph.names[int(graph.name_id[e])]
            if name:
                length[name] = length.get(name, 0.0) + float(graph.length_m[e])
    return max(length, key=lambda n: length[n]) if length else None


__all__ = ["ADDRESS_NEAR_M", "STREET_NEAR_M", "ranks", "site_names"]
