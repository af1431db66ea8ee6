"""Write examples/addresses.example.csv: a small fictitious address register on real Almaty buildings.

The codes and the house numbers given to unaddressed buildings are made up (the state register
is not open data); the buildings, streets and the addresses OpenStreetMap has are real (2012
extract, CC BY-SA 2.0, © OpenStreetMap contributors). Run from the project folder::

    .venv/bin/python tools/example_register.py ../shared/data/almaty/almaty.osm.pbf
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo_service.address_text import fold, normalize_house
from geo_service.ingest.osm import read_osm

#: Kazakh names of a few streets, as the register writes them beside the Russian one.
KAZAKH = {"абай": "Абай даңғылы", "titov": "Титов көшесі", "jarokov": "Жароков көшесі",
          "kunaev": "Қонаев көшесі", "satpaev": "Сәтбаев көшесі", "tole bi": "Төле би көшесі",
          "jibek joli": "Жібек жолы көшесі", "masanchi": "Масанчи көшесі", "shevchenko": "Шевченко көшесі"}


def main(pbf: str) -> int:
    extract = read_osm(Path(pbf))
    a = extract.addresses
    a = a[(a.street != "") & a.housenumber.map(lambda h: bool(normalize_house(h)))].reset_index(drop=True)
    rows: list[dict[str, str]] = []
    rng = np.random.default_rng(2026)
    for i in sorted(rng.choice(len(a), size=20, replace=False).tolist()):
        r = a.iloc[i]
        rows.append({"street": r.street, "house": r.housenumber, "lat": f"{r.lat:.7f}", "lon": f"{r.lon:.7f}"})
    b = extract.buildings
    b = b[b.housenumber == ""].reset_index(drop=True)
    pts = shapely.get_coordinates(shapely.point_on_surface(shapely.from_wkb(b.wkb.to_numpy())))
    tree = cKDTree(a[["lon", "lat"]].to_numpy())
    used = {(fold(s), normalize_house(h)) for s, h in zip(a.street, a.housenumber)}
    for j in rng.permutation(len(b)).tolist():
        dist, k = tree.query(pts[j])
        if dist > 0.0015 or re.search(r"\d", a.street.iat[k]):  # ~150 m; not a microdistrict
            continue
        street, base = a.street.iat[k], int(re.match(r"\d+", a.housenumber.iat[k]).group(0))
        house = next(str(base + d) for d in (2, 4, 6, 8, 10, 1, 3, 5) if (fold(street), str(base + d)) not in used)
        used.add((fold(street), house))
        rows.append({"street": street, "house": house, "lat": f"{pts[j][1]:.7f}", "lon": f"{pts[j][0]:.7f}"})
        if len(rows) == 60:
            break
    out = Path("examples/addresses.example.csv")
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["address_id", "street", "house", "building", "street_kk", "street_ru", "lat", "lon", "district"])
        for n, r in enumerate(rows):
            key = fold(r["street"])
            kk = next((v for k, v in KAZAKH.items() if fold(k) in key), "")
            building = "2" if n % 17 == 5 else ""
            w.writerow([f"0202{n + 1:012d}", r["street"], r["house"], building, kk, r["street"], r["lat"], r["lon"], ""])
    print(f"wrote {out}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
