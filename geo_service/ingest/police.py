"""Which of an extract's ``amenity=police`` objects are precinct posts, and what to call them.

OpenStreetMap tags every police object ``amenity=police``: district police stations and
posts, but also traffic police (ГАИ, "дорожная полиция", a speed trap a mapper marked with
the rule it watches), driving-exam centres and checkpoints. Only the first kind receives
residents, so only they become posts by default; the rest are reported, one warning each,
and left out (``keep_all`` keeps them).

Rules (general: no object or street of a city is named in them):

* the ``police=*`` subtag, when present, names a kind that is not a post
  (`NOT_POST_KINDS`: ``traffic_police``, ``checkpoint``, ``car_pound``, ...);
* the object's words (name, official name, description, note, ``attention``, ... but not
  its address) match traffic police, a driving exam or an ambush, in Kazakh, Russian or
  English (`TRAFFIC`, `EXAM`, `AMBUSH`).

A post gets its OSM name (``name``, ``name:ru``, ``name:kk``, ``official_name``, ``ref``);
an unnamed one (or one named just "Police"/"Полиция"/"Милиция") is called after its
address ("Пост полиции, ул. Абая 150"), else after the nearest named street within
`NEAREST_STREET_M` ("Пост полиции, ул. Абая"), else "Пост полиции №N" by its position in
the list: never after its OSM id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo_service.ingest.osm import HighwayWays
from geo_service.network.geodesy import EARTH_RADIUS_M

__all__ = ["AMBUSH", "EXAM", "NEAREST_STREET_M", "NOT_POST_KINDS", "TRAFFIC", "not_a_post", "post_names"]

#: ``police=*`` values that are not a post receiving residents (OSM wiki, Key:police).
NOT_POST_KINDS = frozenset({
    "traffic_police", "checkpoint", "car_pound", "detention", "prison", "range", "barracks",
    "training_area", "naval_base", "storage", "academy", "car_repair", "dog_unit", "horse_unit",
})
#: Traffic police and what a traffic watch point watches (kk / ru / en).
TRAFFIC = re.compile(
    r"\b(?:гаи\w*|гибдд|дпс|удп|одп|дп)\b|облгаи|дорожн\w*\s+полиц|жол\s+полиция|жол[\s-]*патруль"
    r"|патрульн\w*\s+полиц|traffic|road\s+police|highway\s+patrol|скорост|км/ч|km/h|\bобгон|проезд\s+на"
    r"|светофор|на\s+красный|\bполос[аыу]|\bряд|пешеход|остановка\s+запрещ|разворот|radar|speed",
    re.IGNORECASE)
#: Driving-exam and public-service centres.
EXAM = re.compile(r"экзамен|спец\s*цон|\bцон\b|емтихан|\bexam|driving\s+test|автодром|водительск\w*\s+удостов",
                  re.IGNORECASE)
#: Ambush points.
AMBUSH = re.compile(r"засад|ambush|speed\s+trap|тұтқиыл|буктырма", re.IGNORECASE)
#: Names that say only "police": the post is named after its address instead.
GENERIC_NAMES = frozenset({"police", "полиция", "милиция", "полиция участок", "участок полиции", "пост полиции",
                           "police station", "полиция бекеті"})
#: A nameless post is named after the nearest named street within this distance.
NEAREST_STREET_M = 300.0
POST_WORD = "Пост полиции"


def not_a_post(row: pd.Series | dict) -> str | None:
    """Why a police object is not a precinct post (with the words that say so), or ``None``."""
    kind = str(row.get("police", "") or "").strip().lower()
    if kind in NOT_POST_KINDS:
        return f"police={kind}"
    words = " | ".join(str(row.get(k, "") or "") for k in ("name", "name_ru", "name_kk", "official_name", "text"))
    for pattern, what in ((AMBUSH, "an ambush point"), (EXAM, "a driving exam centre"), (TRAFFIC, "traffic police")):
        found = pattern.search(words)
        if found:
            start, end = found.span()
            while start > 0 and words[start - 1].isalnum():
                start -= 1
            while end < len(words) and words[end].isalnum():
                end += 1
            return f'{what} ("{words[start:end]}")'
    return None


def _first_value(text: str) -> str:
    """The first of an OSM ``;`` list, spaces tidied."""
    return next((" ".join(p.split()) for p in str(text).split(";") if p.strip()), "")


def _own_name(row: pd.Series) -> str:
    for key in ("name", "name_ru", "name_kk", "official_name"):
        name = _first_value(row.get(key, "") or "")
        if name and name.casefold() not in GENERIC_NAMES:
            return name
    ref = _first_value(row.get("ref", "") or "")
    if ref:
        return f"{POST_WORD} №{ref}" if ref.isdigit() else f"{POST_WORD} {ref}"
    return ""


def _street_finder(ways: HighwayWays | None) -> Callable[[float, float], str]:
    """A function (lat, lon) -> the nearest named street within `NEAREST_STREET_M`, or ""."""
    if ways is None or len(ways) == 0:
        return lambda lat, lon: ""
    names: list[str] = []
    rows: list[int] = []
    for i, tags in enumerate(ways.tags):
        name = _first_value(tags.get("name", ""))
        if name:
            names.append(name)
            rows.extend([len(names) - 1] * int(ways.offsets[i + 1] - ways.offsets[i]))
        else:
            rows.extend([-1] * int(ways.offsets[i + 1] - ways.offsets[i]))
    owner = np.asarray(rows, dtype=np.int64)
    keep = (owner >= 0) & np.isfinite(ways.lon) & np.isfinite(ways.lat)
    if not keep.any():
        return lambda lat, lon: ""
    lat0 = float(np.nanmean(ways.lat[keep]))
    kx = math.cos(math.radians(lat0)) * EARTH_RADIUS_M * math.pi / 180
    ky = EARTH_RADIUS_M * math.pi / 180
    tree = cKDTree(np.column_stack([ways.lon[keep] * kx, ways.lat[keep] * ky]))
    owner = owner[keep]

    def nearest(lat: float, lon: float) -> str:
        dist, k = tree.query([lon * kx, lat * ky])
        return names[int(owner[int(k)])] if dist <= NEAREST_STREET_M else ""

    return nearest


def post_names(police: pd.DataFrame, ways: HighwayWays | None = None) -> list[str]:
    """Readable, distinct names of the posts in ``police`` (rows in order; see the module's rules)."""
    street_of = _street_finder(ways)
    out: list[str] = []
    seen: dict[str, int] = {}
    for k, row in enumerate(police.to_dict("records")):
        name = _own_name(pd.Series(row))
        if not name:
            street = _first_value(row.get("street", "") or "")
            house = _first_value(row.get("housenumber", "") or "")
            if street:
                name = f"{POST_WORD}, {street} {house}".strip()
            else:
                near = street_of(float(row["lat"]), float(row["lon"]))
                name = f"{POST_WORD}, {near}" if near else f"{POST_WORD} №{k + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
