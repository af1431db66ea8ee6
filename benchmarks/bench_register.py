"""Text lookup on a large address register: index build time and memory, query latency, and how they grow.

No register of 500,000 addresses can be had here, so one is generated the way a department's
would look: every distinct street name of the real extracts in ../shared/data (Almaty, Andorra,
Porto, Aguascalientes, Helsinki; about 2,200 names in Kazakh, Russian, Catalan, Portuguese,
Spanish and Finnish), each with houses numbered from 1 (some with a letter or a corpus), points
scattered over Almaty's extent, and a register code per row. It is the shape `geo-service build
--addresses` gives the geocoder. For N = 50k, 100k, 250k, 500k rows it builds the address index
(and the code index `Lookup` keeps), and times 1,000 queries of the kinds people type (the
register's spelling, one typo, the house first, another type word) and 10,000 lookups by code.
Growth is reported as the exponent of time and memory against N (1 = linear).

Run::

    python benchmarks/bench_register.py [--sizes 50000,100000,250000,500000]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_geocode import city_files, typo  # noqa: E402
from benchmarks.common import SHARED_DATA, machine  # noqa: E402
from geo_service.address_text import fold, normalize_house, stem_key  # noqa: E402
from geo_service.ingest.osm import read_osm, street_table  # noqa: E402
from geo_service.lookup.geocode import AddressIndex  # noqa: E402

ALMATY_BBOX = (76.575, 43.057, 77.223, 43.549)


def street_names() -> list[str]:
    names: set[str] = set()
    for pbf in city_files(SHARED_DATA).values():
        extract = read_osm(pbf)
        names |= {s for s in extract.addresses.street if s}
        names |= set(street_table(extract.ways).name)
    return sorted(names)


def register(n: int, names: list[str], rng: np.random.Generator) -> pd.DataFrame:
    per = math.ceil(n / len(names))
    street = np.repeat(np.asarray(names, dtype=object), per)[:n]
    number = np.tile(np.arange(1, per + 1), len(names))[:n]
    suffix = rng.choice(["", "", "", "", "А", "Б", " к1", " к2"], size=n)
    minlon, minlat, maxlon, maxlat = ALMATY_BBOX
    return pd.DataFrame({
        "addr_id": np.arange(n, dtype=np.int64),
        "address_id": [f"0202{i:012d}" for i in range(n)],
        "street": street, "place": "", "housenumber": [f"{a}{b}" for a, b in zip(number, suffix)],
        "lat": rng.uniform(minlat, maxlat, n), "lon": rng.uniform(minlon, maxlon, n),
    })


def queries(frame: pd.DataFrame, rng: random.Random, k: int) -> list[tuple[str, int]]:
    out = []
    for i in rng.sample(range(len(frame)), k):
        s, h = frame.street.iat[i], frame.housenumber.iat[i]
        kind = i % 4
        text = (f"{s} {h}" if kind == 0 else f"{typo(s, rng)} {h}" if kind == 1 else f"{h} {s}" if kind == 2
                else f"улица {s}, д. {h}")
        out.append((text, i))
    return out


def measure(n: int, names: list[str]) -> dict[str, float]:
    frame = register(n, names, np.random.default_rng(n))
    gc.collect()
    tracemalloc.start()  # memory from one traced build, time from an untraced one
    held = (AddressIndex.from_frames(frame), pd.Index(frame.address_id.to_numpy(dtype=object)))
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    gc.collect()
    t0 = time.perf_counter()
    index = AddressIndex.from_frames(frame)
    codes = pd.Index(frame.address_id.to_numpy(dtype=object))
    build_s = time.perf_counter() - t0
    # Rows of the same street key and house are one address to a reader ("ул. Абая" and "Абая пр.").
    key = [(stem_key(fold(st)), normalize_house(h)) for st, h in zip(frame.street, frame.housenumber)]
    lat, right = [], 0
    qs = queries(frame, random.Random(n), 1000)
    for text, i in qs:
        t0 = time.perf_counter()
        res = index.search(text, limit=5)
        lat.append(time.perf_counter() - t0)
        right += bool(res) and res[0].addr_id is not None and key[res[0].addr_id] == key[i]
    sample = frame.address_id.sample(10_000, random_state=1).tolist()
    t0 = time.perf_counter()
    for code in sample:
        codes.get_loc(code)
    code_us = (time.perf_counter() - t0) / len(sample) * 1e6
    return {"n": n, "streets": frame.street.nunique(), "keys": index.n_keys, "build_s": build_s,
            "held_mb": current / 2**20, "peak_mb": peak / 2**20, "p50_ms": float(np.median(lat)) * 1000,
            "p90_ms": float(np.quantile(lat, 0.9)) * 1000, "top1": right / len(qs), "code_us": code_us}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,100000,250000,500000")
    args = ap.parse_args(argv)
    names = street_names()
    if not names:
        print("no extracts found under ../shared/data", file=sys.stderr)
        return 2
    print("## Text lookup on a large address register\n")
    print(f"- machine: {machine()}")
    print(f"- {len(names)} distinct real street names; 1,000 queries per size (as written, one typo, "
          "house first, another type word); 10,000 lookups by code\n")
    print("| register rows | street keys | index build | memory held (peak) | text p50 | text p90 | top-1 "
          "| by code |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [measure(int(n), names) for n in args.sizes.split(",")]
    for r in rows:
        print(f"| {r['n']:,} | {r['keys']:,} | {r['build_s']:.2f} s | {r['held_mb']:.0f} MB ({r['peak_mb']:.0f} MB) "
              f"| {r['p50_ms']:.2f} ms | {r['p90_ms']:.2f} ms | {r['top1']:.1%} | {r['code_us']:.1f} µs |")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        grow = math.log(b["n"] / a["n"])
        print(f"\n- growth exponent {a['n']:,} -> {b['n']:,}: "
              f"build time {math.log(b['build_s'] / a['build_s']) / grow:.2f}, "
              f"memory {math.log(b['held_mb'] / a['held_mb']) / grow:.2f}, text p50 "
              f"{math.log(b['p50_ms'] / a['p50_ms']) / grow:.2f}")
    print(f"- process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
