"""Benchmark of the offline geocoder on the real Almaty OSM extract.

For every address of the extract it generates the ways people type it (the OSM
spelling, without or with another type word, the Kazakh form, informal and 2021
Latin transliterations, one typo, house-number suffix variants, a comma, a city
prefix), geocodes them, and prints a markdown report: the machine, the index
build time, the search latency and the top-1 accuracy per variant kind, next to a
baseline (``rapidfuzz.process.extractOne`` over the raw "street house" strings).

Run::

    python benchmarks/bench_geocode.py [--data ../shared/data] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
from rapidfuzz import process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_service.lookup.geocode import AddressIndex  # noqa: E402
from geo_service.address_text import fold, normalize_house, stem_key  # noqa: E402
from geo_service.network.geodesy import haversine_m  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
NEAR_M = 50.0  # "same coordinates": top-1 within this distance of the address


# ------------------------------------------------------------------ loading

def _way_points(way: osmium.osm.Way) -> list[tuple[float, float]]:
    pts = [(n.lat, n.lon) for n in way.nodes if n.location.valid()]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    return pts


def load_osm(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Address points and named streets of an OSM file, as the city bundle has them."""
    addr_rows: list[dict[str, object]] = []
    streets: dict[str, dict[str, object]] = {}
    for obj in osmium.FileProcessor(str(path)).with_locations():
        tags = obj.tags
        if (obj.is_node() or obj.is_way()) and "addr:housenumber" in tags:
            if obj.is_node():
                lat, lon = obj.location.lat, obj.location.lon
            else:
                pts = _way_points(obj)
                if not pts:
                    continue
                lat = sum(p[0] for p in pts) / len(pts)
                lon = sum(p[1] for p in pts) / len(pts)
            addr_rows.append({
                "street": tags.get("addr:street", ""), "place": tags.get("addr:place", ""),
                "housenumber": tags["addr:housenumber"], "lat": lat, "lon": lon,
            })
        if obj.is_way() and "highway" in tags and "name" in tags:
            pts = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
            if not pts:
                continue
            rec = streets.setdefault(tags["name"], {"name": tags["name"], "name_kk": "", "name_ru": "",
                                                    "old_name": "", "pts": [], "length_m": 0.0})
            for col, key in (("name_kk", "name:kk"), ("name_ru", "name:ru"), ("old_name", "old_name")):
                if not rec[col] and tags.get(key):
                    rec[col] = tags[key]
            rec["pts"].extend(pts)  # type: ignore[union-attr]
            rec["length_m"] += sum(haversine_m(a[1], a[0], b[1], b[0]) for a, b in zip(pts, pts[1:]))  # type: ignore[operator]
    addresses = pd.DataFrame(addr_rows, columns=["street", "place", "housenumber", "lat", "lon"])
    addresses.insert(0, "addr_id", np.arange(len(addresses), dtype=np.int64))
    rows = []
    for rec in streets.values():
        pts = np.asarray(rec.pop("pts"))
        mid = pts[np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1))]
        rows.append({**rec, "lat": float(mid[0]), "lon": float(mid[1])})
    street_frame = pd.DataFrame(rows, columns=["name", "name_kk", "name_ru", "old_name", "lat", "lon", "length_m"])
    return addresses, street_frame


# ------------------------------------------------------------------ variants

TYPE_RE = re.compile(
    r"(?:^|(?<=[\s,(]))(?:ул\.?|улица|пр-т|пр\.|прс\.?|проспект|мкр\.?|мкн\.?|микрорайон|пер\.?|переулок|"
    r"бульвар|str\.|street|ave)(?=[\s.,)]|$)",
    re.IGNORECASE,
)
MKR_RE = re.compile(r"(?:^|(?<=[\s,]))(?:мкр\.?|мкн\.?|микрорайон)(?=[\s.,]|$)", re.IGNORECASE)
PROSPECT_RE = re.compile(r"(?:^|(?<=[\s,]))(?:пр-т|пр\.|прс\.?|проспект|ave)(?=[\s.,]|$)", re.IGNORECASE)

INFORMAL = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "gh", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u",
    "һ": "h", "і": "i",
}
KZ2021 = {
    **INFORMAL, "ж": "j", "й": "i", "ы": "y", "і": "ı", "ш": "ş", "ч": "ç", "ә": "ä", "ғ": "ğ", "қ": "q",
    "ң": "ñ", "ө": "ö", "ұ": "ū", "ү": "ü", "х": "h", "я": "ia", "ю": "iu", "к": "k", "у": "u",
}
KAZAKH_LETTERS = {"к": "қ", "г": "ғ", "н": "ң", "о": "ө", "у": "ұ", "и": "і", "а": "ә"}


def translit(text: str, table: dict[str, str]) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        rep = table.get(low, ch)
        out.append(rep.capitalize() if ch != low and rep else rep)
    return "".join(out)


def core_name(street: str) -> str:
    """The street name without its type word."""
    return re.sub(r"\s+", " ", TYPE_RE.sub(" ", street)).strip(" ,.")


def nominative(name: str) -> str:
    """Crude Kazakh-style nominative: drop a genitive -а/-я of each word."""
    words = []
    for word in name.split():
        w = word
        if len(w) > 3 and w[-1] in "аА" and w[-2].lower() not in "аеиоуыэюяі":
            w = w[:-1]
        elif len(w) > 3 and w[-1] in "яЯ" and w[-2].lower() in "аеиоуыэю":
            w = w[:-1] + "й"
        words.append(w)
    return " ".join(words)


def kazakhify(name: str, rng: random.Random) -> str:
    """Nominative + one Kazakh letter where Russian spelling has the plain one."""
    name = nominative(name)
    spots = [i for i, c in enumerate(name) if c.lower() in KAZAKH_LETTERS]
    if spots:
        i = rng.choice(spots)
        rep = KAZAKH_LETTERS[name[i].lower()]
        name = name[:i] + (rep.upper() if name[i].isupper() else rep) + name[i + 1:]
    return name


def typo(name: str, rng: random.Random) -> str:
    """One random edit inside a word of at least 5 letters (none if there is no such word)."""
    words = name.split()
    long = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 5]
    if not long:
        return name
    wi = rng.choice(long)
    w = words[wi]
    pos = rng.randrange(1, len(w) - 1)
    kind = rng.choice(("del", "sub", "swap", "ins"))
    letters = "абвгдежзиклмнопрстуфх" if re.search("[а-яё]", w, re.I) else "abcdefghiklmnoprstuvz"
    if kind == "del":
        w = w[:pos] + w[pos + 1:]
    elif kind == "sub":
        w = w[:pos] + rng.choice(letters) + w[pos + 1:]
    elif kind == "swap":
        w = w[:pos - 1] + w[pos] + w[pos - 1] + w[pos + 1:]
    else:
        w = w[:pos] + rng.choice(letters) + w[pos:]
    words[wi] = w
    return " ".join(words)


def house_variant(house: str, rng: random.Random) -> str:
    m = re.match(r"^\s*(\d+)\s*([а-яa-z])?\s*(?:/\s*(\d+))?", house, re.IGNORECASE)
    if not m:
        return house
    num, let, frac = m.groups()
    if let:
        let_lat = INFORMAL.get(let.lower(), let.lower())[:1]
        forms = [f"{num} {let.lower()}", f"{num}{let_lat}", f"д. {num}{let.upper()}", f'{num}"{let}"']
    elif frac:
        forms = [f"{num} / {frac}", f"д. {num}/{frac}", f"дом {num}/{frac}"]
    else:
        forms = [f"д.{num}", f"дом {num}", f"№{num}"]
    return rng.choice(forms)


def variants(street: str, house: str, rng: random.Random) -> dict[str, str]:
    core = core_name(street) or street
    is_mkr = bool(MKR_RE.search(street)) or bool(re.search(r"-\d|\d$", core))
    is_prosp = bool(PROSPECT_RE.search(street))
    other_type = ("мкр." if not MKR_RE.search(street) else "микрорайон") if is_mkr else (
        "проспект" if is_prosp and not re.search("проспект", street, re.I) else "улица")
    kz_type = "шағын ауданы" if is_mkr else ("даңғылы" if is_prosp else "көшесі")
    lat_type = "mkr." if is_mkr else ("ave" if is_prosp else "str.")
    return {
        "osm as is": f"{street} {house}",
        "no type word": f"{core} {house}",
        "other type word": f"{other_type} {core} {house}",
        "comma, д.": f"{street}, д. {house}",
        "kazakh": f"{kazakhify(core, rng)} {kz_type} {house}",
        "latin informal": f"{translit(core, INFORMAL)} {lat_type} {house}",
        "latin kz-2021": f"{translit(nominative(core), KZ2021)} {house}",
        "one typo": f"{typo(core, rng)} {house}",
        "latin + typo": f"{typo(translit(core, INFORMAL), rng)} {house}",
        "first word only": f"{core.split()[0]} {house}" if not re.search(r"\d", core) else f"{core} {house}",
        "house suffix": f"{street} {house_variant(house, rng)}",
        "city prefix": f"Алматы, {street}, {house}",
    }


# ------------------------------------------------------------------ run

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    pbf = args.data / "almaty" / "almaty.osm.pbf"
    if not pbf.exists():
        print(f"no Almaty extract at {pbf}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    addresses, streets = load_osm(pbf)
    load_s = time.perf_counter() - t0
    builds = []
    for _ in range(5):
        t0 = time.perf_counter()
        index = AddressIndex.from_frames(addresses, streets)
        builds.append(time.perf_counter() - t0)

    # Targets: addresses with a street and a usable house number.
    hk = [normalize_house(h) for h in addresses.housenumber]
    sk = [stem_key(fold(s)) for s in addresses.street]
    same: dict[tuple[str, str], set[int]] = defaultdict(set)
    for aid, s, h in zip(addresses.addr_id, sk, hk):
        same[(s, h)].add(int(aid))
    # Targets: a house number and a real street name (not junk such as "с").
    targets = [r for r, h, s in zip(addresses.itertuples(index=False), hk, sk)
               if h and (any(c.isdigit() for c in s) or len(s.replace(" ", "")) >= 2)]

    baseline_choices = [f"{r.street} {r.housenumber}" for r in addresses.itertuples(index=False)]
    lat = addresses.lat.to_numpy()
    lon = addresses.lon.to_numpy()

    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # n, ok, near, base ok, base near
    lat_ours: list[float] = []
    lat_base: list[float] = []
    failures: list[tuple[str, str, str]] = []
    for r in targets:
        key = (stem_key(fold(r.street)), normalize_house(r.housenumber))
        right = same[key]
        for kind, query in variants(r.street, r.housenumber, rng).items():
            t0 = time.perf_counter()
            res = index.search(query, limit=5)
            lat_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            base = process.extractOne(query, baseline_choices)
            lat_base.append(time.perf_counter() - t0)
            st = stats[kind]
            st[0] += 1
            if res and res[0].addr_id in right:
                st[1] += 1
            elif len(failures) < 400:
                failures.append((kind, query, f"{res[0].street} {res[0].housenumber}" if res else "-"))
            if res and haversine_m(res[0].lon, res[0].lat, r.lon, r.lat) <= NEAR_M:
                st[2] += 1
            if base is not None:
                b = base[2]
                st[3] += int(addresses.addr_id.iat[b]) in right
                st[4] += haversine_m(lon[b], lat[b], r.lon, r.lat) <= NEAR_M

    def pct(a: int, b: int) -> str:
        return f"{100.0 * a / b:.1f}%" if b else "-"

    def ms(xs: list[float], q: float) -> float:
        return float(np.quantile(np.asarray(xs), q)) * 1000

    print("## Geocoder benchmark (Almaty OSM extract)\n")
    print(f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    print(f"- data: {len(addresses)} address points, {len(streets)} named streets, "
          f"{len(targets)} addresses with street + house tested, {index.n_keys} distinct street keys "
          f"(OSM read {load_s:.2f} s)")
    print(f"- index build: median {statistics.median(builds) * 1000:.1f} ms (of 5 builds)")
    print(f"- search latency: p50 {ms(lat_ours, 0.5):.2f} ms, p90 {ms(lat_ours, 0.9):.2f} ms, "
          f"max {max(lat_ours) * 1000:.2f} ms over {len(lat_ours)} queries")
    print(f"- baseline (`process.extractOne` over raw 'street house' strings): "
          f"p50 {ms(lat_base, 0.5):.2f} ms, p90 {ms(lat_base, 0.9):.2f} ms")
    print(f"- 'right address': top-1 is the address (or an identical duplicate in the data); "
          f"'within {NEAR_M:.0f} m': top-1 coordinates within {NEAR_M:.0f} m of it\n")
    print("| variant | queries | top-1 right address | top-1 within 50 m | baseline right | baseline within 50 m "
          "| ratio (right) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    tot = [0] * 6
    for kind, st in stats.items():
        tot = [a + b for a, b in zip(tot, st)]
        ratio = f"{st[1] / st[3]:.2f}x" if st[3] else "inf"
        print(f"| {kind} | {st[0]} | {pct(st[1], st[0])} | {pct(st[2], st[0])} | {pct(st[3], st[0])} "
              f"| {pct(st[4], st[0])} | {ratio} |")
    ratio = f"{tot[1] / tot[3]:.2f}x" if tot[3] else "inf"
    print(f"| **all** | {tot[0]} | **{pct(tot[1], tot[0])}** | {pct(tot[2], tot[0])} | {pct(tot[3], tot[0])} "
          f"| {pct(tot[4], tot[0])} | {ratio} |")
    if os.environ.get("BENCH_FAILURES"):
        print("\nfailures (kind, query, top-1):")
        for f in failures:
            print("  ", f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
