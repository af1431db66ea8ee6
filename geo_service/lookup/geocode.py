"""Offline address geocoder for Kazakh cities.

Turns what an inspector types ("пр. Абая, 150", "Абай даңғылы 150",
"Qabanbai batyr 32/1", "мкр Самал 2 д 58") into coordinates, using only the
address points and street names of the city bundle.

How it works
------------
The text rules (:func:`~geo_service.address_text.fold`,
:func:`~geo_service.address_text.stem_key`,
:func:`~geo_service.address_text.normalize_house`, the street/house split) live in
:mod:`geo_service.address_text`.

* :class:`AddressIndex` groups every spelling of a street (the ``addr:street``
  values of the addresses, the register's ``street_kk`` / ``street_ru``, the ``name`` /
  ``name_kk`` / ``name_ru`` aliases of the road table, which are linked together, and
  ``old_name`` / bracketed names as weaker aliases; :mod:`~geo_service.lookup.aliases`)
  and keeps a dict of house keys per group.  A query reading (house last, house first,
  a trailing locality dropped) is scored with :func:`rapidfuzz.fuzz.WRatio` against the
  street keys :mod:`~geo_service.lookup.shortlist` finds close to it, then houses are
  looked up in dicts.

The ``match`` field of a :class:`Candidate` says how precise it is:

``"house"``
    an address point of the data (found on a street or in a microdistrict);
``"street"``
    the middle of a street: the house is unknown or was not given;
``"place"``
    the middle of a microdistrict (``addr:place`` or an ``мкр``-style street)
    when the house is unknown or was not given.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo_service.address_text import (
    house_base,
    hypotheses,
    normalize_house,
    stem_key,
)
from geo_service.errors import InputError
from geo_service.lookup.aliases import Aliases, text_column
from geo_service.lookup.shortlist import Shortlist

logger = logging.getLogger(__name__)

__all__ = ["AddressIndex", "Candidate", "display_name"]

# --------------------------------------------------------------------------- index


@dataclass(frozen=True)
class Candidate:
    """One geocoding result.

    Attributes
    ----------
    lat, lon : float
        WGS84 coordinates.
    score : float
        0-100; higher is better.
    match : str
        ``"house"`` (an address point), ``"street"`` (middle of the street, the
        house is unknown) or ``"place"`` (middle of a microdistrict).
    street : str
        The street or place name as the data spells it.
    housenumber : str or None
        The house number as the data spells it (``None`` unless ``match == "house"``).
    addr_id : int or None
        ``addr_id`` of the address row (``None`` unless ``match == "house"``).
    address_id : str or None
        The address register's code of that row (``None`` for OpenStreetMap addresses).
    house_asked : str or None
        The house number the query was read with, as typed (``None``: no house asked).
    house_found : bool or None
        ``True`` when that very house is the candidate, ``False`` when a house was asked
        but the candidate is another number (``"150"`` asked, ``"150а"`` shown) or the
        street's / place's middle, ``None`` when no house was asked.
    street_length_m : float or None
        For a street's middle: the length of the street (all its ways of that name).
    road : str or None
        For a street's middle: the street's name as the road graph spells it (the raw
        OpenStreetMap value), to find the precincts it crosses.
    """

    lat: float
    lon: float
    score: float
    match: str
    street: str
    housenumber: str | None
    addr_id: int | None
    address_id: str | None = None
    house_asked: str | None = None
    house_found: bool | None = None
    street_length_m: float | None = None
    road: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


def _houses_per_group(
    addr_groups: list[list[str]], valid: np.ndarray, a_house: list[str], gid: Callable[[str], int], n_groups: int
) -> tuple[list[dict[str, list[int]]], list[dict[str, list[int]]], list[list[int]]]:
    """Houses per group: house key -> addresses, house base number -> addresses, and all its addresses."""
    group_houses: list[dict[str, list[int]]] = [{} for _ in range(n_groups)]
    group_bases: list[dict[str, list[int]]] = [{} for _ in range(n_groups)]
    group_members: list[list[int]] = [[] for _ in range(n_groups)]
    for i, owners in enumerate(addr_groups):
        if not valid[i]:
            continue
        hkeys = {normalize_house(part) for part in re.split(r"[,;]", a_house[i])} - {""}
        for g in {gid(o) for o in owners}:
            group_members[g].append(i)
            for hk in hkeys:
                group_houses[g].setdefault(hk, []).append(i)
                group_bases[g].setdefault(house_base(hk), []).append(i)
    return group_houses, group_bases, group_members


def _group_centers(
    aliases: list[tuple[str, str, float, int, bool]], alias_gids: list[int], group_members: list[list[int]],
    a_lat: np.ndarray, a_lon: np.ndarray, a_street: list[str], a_place: list[str],
) -> list[list[tuple[float, float, str]]]:
    """Fallback point of groups without a road: the address nearest their median."""
    n_groups = len(group_members)
    rows_of_group: list[set[int]] = [set() for _ in range(n_groups)]
    for (_, _, _, row, _), g in zip(aliases, alias_gids):
        if row >= 0:
            rows_of_group[g].add(row)
    group_centers: list[list[tuple[float, float, str]]] = [[] for _ in range(n_groups)]
    for g, members in enumerate(group_members):
        if rows_of_group[g] or not members:
            continue
        idx = np.asarray(members)
        mlat, mlon = np.median(a_lat[idx]), np.median(a_lon[idx])
        best = int(idx[np.argmin((a_lat[idx] - mlat) ** 2 + (a_lon[idx] - mlon) ** 2)])
        group_centers[g].append(
            (float(a_lat[best]), float(a_lon[best]), a_street[best] or a_place[best])
        )
    return group_centers


def _stem_groups(
    aliases: list[tuple[str, str, float, int, bool]], alias_gids: list[int]
) -> tuple[dict[str, int], list[list[tuple[int, float, int]]]]:
    """Distinct stems -> (group, penalty, row)."""
    stem_pos: dict[str, int] = {}
    stem_groups: list[list[tuple[int, float, int]]] = []
    for (k, _, pen, row, _), g in zip(aliases, alias_gids):
        if k not in stem_pos:
            stem_pos[k] = len(stem_groups)
            stem_groups.append([])
        entry = (g, pen, row)
        if entry not in stem_groups[stem_pos[k]]:
            stem_groups[stem_pos[k]].append(entry)
    return stem_pos, stem_groups


_ADDR_COLUMNS = ("addr_id", "street", "place", "housenumber", "lat", "lon")
_STREET_COLUMNS = ("name", "name_kk", "name_ru", "old_name", "lat", "lon")
_MKR_MISMATCH = 3.0  # query says мкр but the group is an ordinary street
_HOUSE_BASE_PENALTY = 10.0  # "150" asked, only "150а" known (or the other way round)
_NO_HOUSE_PENALTY = 20.0  # house asked but unknown: the street's middle
_MIN_STREET_SCORE = 70.0
_MIN_SCORE = 50.0
_WINDOW = 30.0  # drop candidates this far below the best one
_TOP_STEMS = 25
_DIGIT_MISMATCH = 25.0  # both keys have numbers, different ones
_DIGIT_MISSING = 10.0  # one key has numbers the other lacks
_NAME_MISSING = 20.0  # the query has a name, the key is only a number ("мкн 5")
_PARTIAL_BONUS = 15.0  # WRatio's substring match may add at most this to whole-word scores


class AddressIndex:
    """Fuzzy address index over a city's address points and street names.

    Build with :meth:`from_frames`; query with :meth:`search`.
    """

    def __init__(
        self,
        *,
        addr_id: np.ndarray,
        codes: list[str],
        lat: np.ndarray,
        lon: np.ndarray,
        addr_street: list[str],
        housenumber: list[str],
        stems: list[str],
        stem_groups: list[list[tuple[int, float, int]]],
        group_houses: list[dict[str, list[int]]],
        group_bases: list[dict[str, list[int]]],
        group_is_mkr: list[bool],
        group_centers: list[list[tuple[float, float, str]]],
        row_points: list[tuple[float, float, str, float]],
    ) -> None:
        self._addr_id = addr_id
        self._codes = codes
        self._lat = lat
        self._lon = lon
        self._addr_street = addr_street
        self._housenumber = housenumber
        self._stems = stems
        self._stem_shapes = [_shape(k) for k in stems]
        self._shortlist = Shortlist(stems)
        self._stem_groups = stem_groups  # stem -> [(group, penalty, street row or -1)]
        self._group_houses = group_houses
        self._group_bases = group_bases
        self._group_is_mkr = group_is_mkr
        self._group_centers = group_centers  # fallback points derived from addresses
        self._row_points = row_points  # streets table rows: (lat, lon, name, length_m)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frames(cls, addresses: pd.DataFrame, streets: pd.DataFrame | None = None) -> AddressIndex:
        """Build the index from the city bundle's frames.

        Parameters
        ----------
        addresses : pandas.DataFrame
            Columns ``addr_id, street, place, housenumber, lat, lon``.
        streets : pandas.DataFrame, optional
            Columns ``name, name_kk, name_ru, old_name, lat, lon`` (``length_m``
            is not needed); one row per named street of the road graph.

        Returns
        -------
        AddressIndex

        Raises
        ------
        InputError
            A required column is missing.
        """
        t0 = time.perf_counter()
        missing = [c for c in _ADDR_COLUMNS if c not in addresses.columns]
        if streets is None:
            streets = pd.DataFrame(columns=list(_STREET_COLUMNS))
        missing += [f"streets.{c}" for c in ("name", "lat", "lon") if c not in streets.columns]
        if missing:
            raise InputError(
                "The address table of the city bundle is incomplete.",
                detail=f"missing columns: {', '.join(missing)}",
            )

        table = Aliases()
        row_points = table.add_streets(streets)
        a_street = text_column(addresses, "street")
        a_place = text_column(addresses, "place")
        a_house = text_column(addresses, "housenumber")
        a_lat = pd.to_numeric(addresses["lat"], errors="coerce").to_numpy(dtype=float)
        a_lon = pd.to_numeric(addresses["lon"], errors="coerce").to_numpy(dtype=float)
        a_id = addresses["addr_id"].to_numpy()
        a_kk, a_ru = text_column(addresses, "street_kk"), text_column(addresses, "street_ru")
        addr_groups = table.add_addresses(a_street, a_place, [[k, r] for k, r in zip(a_kk, a_ru)])
        aliases = table.aliases

        # Number the groups (union-find roots).
        alias_gids = [table.gid(owner) for _, owner, _, _, _ in aliases]
        n_groups = table.n_groups
        group_is_mkr = [False] * n_groups
        for (_, _, _, _, f), g in zip(aliases, alias_gids):
            group_is_mkr[g] = group_is_mkr[g] or f

        valid = np.isfinite(a_lat) & np.isfinite(a_lon)
        group_houses, group_bases, group_members = _houses_per_group(addr_groups, valid, a_house, table.gid, n_groups)
        group_centers = _group_centers(aliases, alias_gids, group_members, a_lat, a_lon, a_street, a_place)
        stem_pos, stem_groups = _stem_groups(aliases, alias_gids)

        index = cls(
            addr_id=a_id,
            codes=text_column(addresses, "address_id"),
            lat=a_lat,
            lon=a_lon,
            addr_street=[a_street[i] or a_place[i] for i in range(len(a_street))],
            housenumber=a_house,
            stems=list(stem_pos),
            stem_groups=stem_groups,
            group_houses=group_houses,
            group_bases=group_bases,
            group_is_mkr=group_is_mkr,
            group_centers=group_centers,
            row_points=row_points,
        )
        logger.info(
            "address index: %d addresses, %d street rows, %d groups, %d distinct keys in %.3f s",
            len(addresses), len(streets), n_groups, len(stem_pos), time.perf_counter() - t0,
        )
        return index

    # ------------------------------------------------------------------ info
    @property
    def n_addresses(self) -> int:
        """Number of address rows indexed."""
        return len(self._addr_id)

    @property
    def n_keys(self) -> int:
        """Number of distinct folded street/place keys."""
        return len(self._stems)

    # ------------------------------------------------------------------ search
    def _street_scores(self, stem: str) -> list[tuple[int, float]]:
        """(stem index, similarity) of the best-matching street keys."""
        if not self._stems:
            return []
        short = self._shortlist.candidates(stem)
        scores = process.cdist([stem], [self._stems[i] for i in short.tolist()], scorer=fuzz.WRatio,
                               score_cutoff=_MIN_STREET_SCORE - 1, workers=1)[0]
        q_digits, q_letters = _shape(stem)
        out: list[tuple[int, float]] = []
        for j in np.flatnonzero(scores).tolist():
            s, i = float(scores[j]), int(short[j])
            choice = self._stems[i]
            if choice != stem:
                # WRatio finds "abai" inside "arkabaisai": cap substring matches
                # by the whole-string and whole-word similarities.
                whole = max(fuzz.ratio(stem, choice), fuzz.token_set_ratio(stem, choice))
                s = min(s, whole + _PARTIAL_BONUS)
                s -= _shape_penalty(q_digits, q_letters, *self._stem_shapes[i])
            if s >= _MIN_STREET_SCORE:
                out.append((i, s))
        out.sort(key=lambda t: -t[1])
        return out[:_TOP_STEMS]

    def search(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Geocode free-text address ``text``.

        Parameters
        ----------
        text : str
            What the user typed, in Kazakh, Russian or Latin script.
        limit : int, default 5
            Maximum number of candidates.

        Returns
        -------
        list of Candidate
            Best first.  Several candidates when the input is ambiguous (two
            streets match about equally, or the house exists on several of them);
            an empty list for empty or unmatched text.
        """
        if limit <= 0:
            return []
        best: dict[tuple[Any, ...], Candidate] = {}

        def add(key: tuple[Any, ...], cand: Candidate) -> None:
            old = best.get(key)
            if old is None or cand.score > old.score:
                best[key] = cand

        readings = hypotheses(text)
        # The house the query names (its first reading with one): a street's middle found by a
        # reading without a house still answers a query that asked for that house.
        query_house = next(((h.parsed.house or "").strip() for h in readings if h.parsed.house_key), "") or None
        for hyp in readings:
            p = hyp.parsed
            # Street group -> best similarity, and its best-matching road row.
            group_score: dict[int, float] = {}
            group_row: dict[int, tuple[float, float, int]] = {}  # (score, length, row)
            for si, sim in self._street_scores(stem_key(p.street_key)):
                for g, pen, row in self._stem_groups[si]:
                    s = sim - pen - hyp.penalty
                    if p.is_microdistrict and not self._group_is_mkr[g]:
                        s -= _MKR_MISMATCH
                    if s > group_score.get(g, -1.0):
                        group_score[g] = s
                    if row >= 0:
                        cand_row = (s, self._row_points[row][3], -row)
                        if cand_row > group_row.get(g, (-1.0, 0.0, 0)):
                            group_row[g] = cand_row
            asked = ((p.house or "").strip() or None) if p.house_key else None
            for g, s in group_score.items():
                if p.house_key:
                    found = self._group_houses[g].get(p.house_key, [])
                    for i in found:
                        add(("house", i), self._house_candidate(i, s, asked, found=True))
                    if found:
                        continue
                    for i in self._group_bases[g].get(house_base(p.house_key), []):
                        add(("house", i), self._house_candidate(i, s - _HOUSE_BASE_PENALTY, asked, found=False))
                # The house is unknown or was not asked: the street's / place's middle.
                kind = "place" if self._group_is_mkr[g] else "street"
                drop = _NO_HOUSE_PENALTY if p.house_key else 0.0
                points: list[tuple[float, float, str, float, float | None, str | None]]
                if g in group_row:
                    rs, _, neg_row = group_row[g]
                    r_lat, r_lon, r_name, r_length = self._row_points[-neg_row]
                    points = [(r_lat, r_lon, r_name, rs, r_length, r_name)]
                else:
                    points = [(lat, lon, name, s, None, None) for lat, lon, name in self._group_centers[g]]
                for c_lat, c_lon, name, ps, length, road in points:
                    missed = asked or (query_house if query_house and not _names_number(name, query_house) else None)
                    add((kind, round(c_lat, 5), round(c_lon, 5)),
                        Candidate(lat=c_lat, lon=c_lon, score=_clamp(ps - drop), match=kind, street=display_name(name),
                                  housenumber=None, addr_id=None, house_asked=missed,
                                  house_found=False if missed else None,
                                  street_length_m=round(length) if length else None, road=road or None))

        if not best:
            return []
        ranked = sorted(best.values(), key=lambda c: (-c.score, _MATCH_RANK[c.match]))
        top = ranked[0].score
        return [c for c in ranked if c.score >= max(_MIN_SCORE, top - _WINDOW)][:limit]

    def _house_candidate(self, i: int, score: float, asked: str | None, *, found: bool) -> Candidate:
        return Candidate(
            lat=float(self._lat[i]),
            lon=float(self._lon[i]),
            score=_clamp(score),
            match="house",
            street=display_name(self._addr_street[i]),
            housenumber=self._housenumber[i],
            addr_id=int(self._addr_id[i]),
            address_id=self._codes[i] or None,
            house_asked=asked,
            house_found=found,
        )


_MATCH_RANK = {"house": 0, "place": 1, "street": 2}


def _shape(key: str) -> tuple[frozenset[str], bool]:
    """Number tokens of a key and whether it has any letters."""
    toks = key.split()
    return frozenset(t for t in toks if t.isdigit()), any(not t.isdigit() for t in toks)


def _shape_penalty(q_digits: frozenset[str], q_letters: bool, c_digits: frozenset[str], c_letters: bool) -> float:
    """Penalty for keys whose numbers disagree ("мкн 3" is not "мкн 5").

    WRatio scores a short key found inside a longer query at 90 ("5" in
    "titova 45"); numbers and a missing name must count against that.
    """
    pen = 0.0
    if q_digits != c_digits:
        pen += _DIGIT_MISMATCH if (q_digits and c_digits) else _DIGIT_MISSING
    if q_letters and not c_letters:
        pen += _NAME_MISSING
    return pen


def _clamp(score: float) -> float:
    return round(min(100.0, max(0.0, score)), 1)


def _names_number(name: str, house: str) -> bool:
    """Whether a street's name holds the house's number ("Самал-2" holds the 2 of "Самал 2")."""
    digits = re.match(r"\d+", house.lstrip("№# "))
    return digits is not None and re.search(rf"(?<!\d){digits.group(0)}(?!\d)", name) is not None


_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,9}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")


def display_name(name: str) -> str:
    """A street name fit to show: the first of an OpenStreetMap ``;`` list, spaces tidied.

    ``"ул. Джандосова;ул.Джандосова"`` -> ``"ул. Джандосова"`` (OSM keeps several values of a
    tag in one string separated by ``;``; a citizen should read one name). A ``;`` ending a
    character reference (``&amp;``) is text, not a separator.
    """
    if not name or ";" not in name:
        return name
    masked = _ENTITY.sub(lambda m: m.group(0).replace(";", "\0"), name)
    parts = [" ".join(part.replace("\0", ";").split()) for part in masked.split(";")]
    return next((part for part in parts if part), name.strip())
