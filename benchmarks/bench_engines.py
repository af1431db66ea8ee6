"""This service's routing against OSRM and Valhalla: one run, one extract, the same points.

Rows (times are medians after a warm-up; "ratio" = the engine's time / ours, above 1 means
ours is faster):

- route: one point-to-point route = snap both ends + shortest path + the full geometry as a
  list of [lon, lat] in Python (ours: ``RoadGraph.route(...).to_dict()``, what the
  ``/api/v1/route`` view returns before JSON; OSRM ``Route`` with GeoJSON overview=full;
  Valhalla ``route`` with ``directions_type`` none and the shape decoded). Median over
  every call on the same pairs of points.
- matrix 200 x 200, 500 x 500: snap + every duration as Python lists (ours:
  ``network.reach.travel_matrix``; OSRM ``Table``; Valhalla ``matrix``, timedistancematrix).
- isochrone N min (Valhalla only; OSRM has none): one polygon (ours:
  ``network.reach.isochrone``, a 25 m street buffer on a 10 m grid; Valhalla: its contour
  polygon); the mean area of each is printed beside the time.
- day, 60 stops: a round trip from a post (ours: ``routes.day.plan_day`` = matrix + VROOM +
  PyVRP polish, legs with geometry; OSRM ``Trip`` = its table + TSP heuristic + geometry;
  Valhalla ``optimized_route``; PyVRP 2 s on our matrix as the best). Each tour's order is
  evaluated with ``bench_routes.check`` on OUR matrix, 5 min on site per stop. Twice: no
  time windows (what OSRM trip and Valhalla can take), and a third with a 90-minute window
  (the engines ignore windows: their tours are checked all the same).

Engines run in their own venvs (Python >= 3.12: their wheels are abi3 for 3.12+), in
``benchmarks/engines/*_worker.py`` via subprocess, one after the other (never two at
once). Their preprocessing (osrm-extract/partition/customize/contract, Valhalla tiles) and
our bundle are cached under ``tempfile.gettempdir()/engines`` and reported apart.

Run: ``python -m benchmarks.bench_engines [--osm PBF] [--bundle DIR] [--mode walk|drive]
[--quick] [--markdown FILE]``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_routes import check, checker_arrays, day_instance, solve_pyvrp
from benchmarks.common import SHARED_DATA, machine, need
from benchmarks.engines.wcommon import timed, timed_each

CACHE = Path(tempfile.gettempdir()) / "engines"
WORKERS = Path(__file__).resolve().parent / "engines"
ENGINES = {"OSRM": ("osrm-bindings", "osrm", "osrm_worker.py"),
           "Valhalla": ("pyvalhalla", "valhalla", "valhalla_worker.py")}


# -- setup: venvs, caches, the bundle -------------------------------------------------------------

def python312() -> str | None:
    """A Python >= 3.12 to make the engines' venvs with, or None."""
    cands = [shutil.which(f"python3.{m}") for m in (13, 12, 14)]
    cands += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python"))
    cands += [shutil.which("python3"), sys.executable]
    for c in cands:
        if not c:
            continue
        r = subprocess.run([c, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                           check=False, capture_output=True, text=True)
        if r.stdout.strip() == "True":
            return c
    return None


def engine_python(name: str, override: str | None) -> tuple[str | None, str]:
    """The python of ``name``'s venv (made and filled with pip on first use), or (None, why)."""
    package, module, _ = ENGINES[name]
    if override:
        return override, ""
    venv = CACHE / f"{module}-venv"
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", f"import {module}"], check=False,
                                      capture_output=True).returncode == 0:
        return str(py), ""
    base = python312()
    if base is None:
        return None, f"no Python >= 3.12 found for its venv ({package} ships abi3 wheels for 3.12+ only)"
    print(f"{name}: making {venv} with {base} and `pip install {package}`", flush=True)
    r = subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=False, capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--only-binary", ":all:", package],
                           check=False, capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
        return None, f"pip install {package} failed: {lines[-1].strip() if lines else r.returncode}"
    return str(py), ""


def extract_key(pbf: Path) -> str:
    st = pbf.stat()
    return f"{pbf.stem.split('.')[0]}-{st.st_size}-{int(st.st_mtime)}"


def load_city(pbf: Path, bundle: Path | None) -> tuple[Any, dict[str, Any]]:
    from geo_service.bundle import load_bundle
    from geo_service.ingest.build import BuildOptions, build_city

    if bundle is not None:
        return load_bundle(bundle), {"given": str(bundle)}
    out = CACHE / f"bundle-{extract_key(pbf)}"
    done = out / "build-seconds.json"
    if (out / "manifest.json").exists() and done.exists():
        return load_bundle(out), {**json.loads(done.read_text()), "cached": True}
    t0 = time.perf_counter()
    build_city(BuildOptions(osm=pbf, out=out, city=pbf.stem.split(".")[0]))
    info = {"total_s": round(time.perf_counter() - t0, 2)}
    done.write_text(json.dumps(info))
    return load_bundle(out), {**info, "cached": False}


# -- the points -----------------------------------------------------------------------------------

def draw(city: Any, mode: str, quick: bool, seed: int = 17) -> dict[str, Any]:
    """500 points on nodes of the largest strongly connected piece of our graph (so every
    engine can join every pair), route pairs, isochrone origins and the two 60-stop days."""
    from scipy.sparse.csgraph import connected_components

    g = city.graph(mode)
    _, label = connected_components(g.csr(), directed=True, connection="strong")
    big = np.flatnonzero(label == np.bincount(label).argmax())
    rng = np.random.default_rng(seed)
    nodes = rng.choice(big, 500, replace=False)
    pts = np.column_stack([g.lat[nodes], g.lon[nodes]]).round(7)
    n_pairs = 20 if quick else 100
    pairs = [[int(a), int(b)] for a, b in rng.choice(500, (n_pairs, 2), replace=False).reshape(-1, 2)]
    p, dg, visits, shift = day_instance(city, seed=7)
    if mode != "walk":
        dg = g
    plain = [dataclasses.replace(v, time_windows=[]) for v in visits]
    days = {"no windows": (p, dg, plain, shift), "20 with a 90-min window": (p, dg, visits, shift)}
    return {"graph": g, "points": pts, "pairs": pairs, "iso_origins": pts[:5],
            "iso_minutes": [10] if quick else [5, 10, 15, 30], "days": days}


def request(d: dict[str, Any], pbf: Path, mode: str, cache: Path, repeat: int) -> dict[str, Any]:
    return {"pbf": str(pbf), "cache": str(cache), "mode": mode, "points": d["points"].tolist(),
            "pairs": d["pairs"], "sizes": [200, 500], "repeat": repeat,
            "iso": {"origins": d["iso_origins"].tolist(), "minutes": d["iso_minutes"]},
            "days": [{"name": name, "points": [list(p)] + [[v.lat, v.lon] for v in visits]}
                     for name, (p, _, visits, _) in d["days"].items()]}


# -- our side -------------------------------------------------------------------------------------

def ours(city: Any, d: dict[str, Any], mode: str, repeat: int) -> dict[str, Any]:
    from geo_service.network.reach import isochrone, travel_matrix
    from geo_service.routes.day import plan_day

    g, pts = d["graph"], d["points"]
    out: dict[str, Any] = {}
    out["route"] = timed_each(lambda pr: g.route(*pts[pr[0]], *pts[pr[1]]).to_dict(), d["pairs"], repeat=repeat)
    out["route_time_s"] = [g.route(*pts[a], *pts[b]).time_s for a, b in d["pairs"]]
    for n in (200, 500):
        out[f"matrix_{n}"] = timed(lambda n=n: travel_matrix(g, pts[:n], pts[:n]), repeat=repeat)
    out["matrix_200_values"] = travel_matrix(g, pts[:200], pts[:200])["durations_s"]
    out["isochrone"] = {}
    for minutes in d["iso_minutes"]:
        t = timed_each(lambda o, m=minutes: isochrone(g, o[0], o[1], m), list(d["iso_origins"]), repeat=repeat)
        areas = [isochrone(g, o[0], o[1], minutes)["properties"]["area_m2"] for o in d["iso_origins"]]
        out["isochrone"][str(minutes)] = {**t, "area_m2": float(np.mean(areas))}
    out["day"], out["day_polish_off"] = {}, {}
    for name, (p, _, visits, shift) in d["days"].items():
        ids = {v.id: k + 1 for k, v in enumerate(visits)}
        for key, polish in (("day", None), ("day_polish_off", 0)):
            plans: list[Any] = []

            def plan(p: Any = p, visits: Any = visits, shift: Any = shift, plans: list[Any] = plans,
                     polish: float | None = polish) -> None:
                plans.append(plan_day(city, start=p, visits=copy.deepcopy(visits), shift=copy.deepcopy(shift),
                                      mode=mode, polish_s=polish))

            t = timed(plan, repeat=max(3, repeat), warmup=1)
            order = [0] + [ids[s.visit_id] for s in plans[-1].stops if s.kind == "visit"]
            out[key][name] = {**t, "order": order}
    return out


def run_engine(name: str, py: str, req: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    worker = WORKERS / ENGINES[name][2]
    t0 = time.perf_counter()
    r = subprocess.run([py, str(worker)], check=False, input=json.dumps(req), capture_output=True, text=True,
                       timeout=3600, env={**os.environ, "PYTHONPATH": ""})
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        return None, f"worker failed: {lines[-1] if lines else r.returncode}"
    ans = json.loads(r.stdout.strip().splitlines()[-1])
    ans["wall_s"] = time.perf_counter() - t0
    return ans, ""


# -- the report -----------------------------------------------------------------------------------

def area_m2(geom: dict[str, Any], g: Any) -> float:
    import shapely
    from shapely.geometry import shape

    s = shapely.transform(shape(geom), lambda c: c * np.array([g.kx, g.ky]))
    if s.geom_type in ("LineString", "MultiLineString"):
        s = shapely.polygonize(shapely.get_parts(s))
    return float(shapely.area(s))


def agreement(ours_m: list[list[float | None]], other: list[list[float | None]]) -> str:
    a = np.array([[np.nan if v is None else v for v in row] for row in ours_m], dtype=float)
    b = np.array([[np.nan if v is None else v for v in row] for row in other], dtype=float)
    off = ~np.eye(len(a), dtype=bool)
    both = off & np.isfinite(a) & np.isfinite(b) & (a > 0)
    r = b[both] / a[both]
    return (f"durations vs ours median {np.median(r):.3f} (p10 {np.percentile(r, 10):.3f}, p90 "
            f"{np.percentile(r, 90):.3f}); unreachable pairs ours {int((off & ~np.isfinite(a)).sum())}, "
            f"theirs {int((off & ~np.isfinite(b)).sum())}")


def fmt_ms(s: float | None) -> str:
    if s is None:
        return "-"
    ms = s * 1000
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}" if x < 10 else f"{x:.0f}"


def speed_rows(our: dict[str, Any], eng: dict[str, dict[str, Any]], iso_minutes: list[float],
               g: Any) -> list[list[str]]:
    """Rows: what, ours ms, OSRM MLD, OSRM CH, Valhalla, OSRM best / ours, Valhalla / ours."""
    osrm = eng.get("OSRM", {}).get("variants", {})
    val = eng.get("Valhalla", {}).get("variants", {}).get("")

    def get(res: dict[str, Any] | None, *keys: str) -> float | None:
        for k in keys:
            if res is None or k not in res:
                return None
            res = res[k]
        return None if res is None else float(res["median_s"])  # type: ignore[index]

    rows = []
    names = [("route", ("route",), "snap + path + coordinates, median per call"),
             ("matrix 200 x 200", ("matrix_200",), "snap + durations"),
             ("matrix 500 x 500", ("matrix_500",), "snap + durations")]
    names += [(f"isochrone {m:g} min", ("isochrone", str(m)), "one polygon") for m in iso_minutes]
    names += [(f"day, 60 stops, {k}", ("day", k), "matrix + tour (+ geometry)") for k in our["day"]]
    for label, keys, what in names:
        o = get(our, *keys)
        mld, ch, v = get(osrm.get("MLD"), *keys), get(osrm.get("CH"), *keys), get(val, *keys)
        best = min([x for x in (mld, ch) if x is not None], default=None)
        extra = ""
        if keys[0] == "isochrone" and val is not None:
            va = np.mean([area_m2(gm, g) for gm in val["isochrone"][keys[1]]["geometries"]])
            extra = f" (area ours {our['isochrone'][keys[1]]['area_m2'] / 1e6:.2f} km2, Valhalla {va / 1e6:.2f})"
        rows.append([label + extra, what, fmt_ms(o), fmt_ms(mld), fmt_ms(ch), fmt_ms(v),
                     fmt_ratio(best / o if best and o else None), fmt_ratio(v / o if v and o else None)])
    return rows


def day_rows(d: dict[str, Any], our: dict[str, Any], eng: dict[str, dict[str, Any]]) -> list[str]:
    """Tour quality on OUR matrix: ours, OSRM trip (MLD and CH), Valhalla optimized_route, PyVRP 2 s."""
    out = []
    for name, (p, g, visits, shift) in d["days"].items():
        m, tw, service, horizon, _ = checker_arrays(p, g, visits, shift)
        t0 = time.perf_counter()
        seq, _ = solve_pyvrp(m, tw, service, horizon, 2.0)
        pyvrp_s = time.perf_counter() - t0
        cands = [("ours (plan_day)", our["day"][name]["order"] + [0], our["day"][name]["median_s"]),
                 ("ours, VROOM alone (polish off)", our["day_polish_off"][name]["order"] + [0],
                  our["day_polish_off"][name]["median_s"])]
        for alg, res in eng.get("OSRM", {}).get("variants", {}).items():
            cands.append((f"OSRM trip ({alg})", res["day"][name]["order"] + [0], res["day"][name]["median_s"]))
        if "Valhalla" in eng:
            res = eng["Valhalla"]["variants"][""]["day"][name]
            cands.append(("Valhalla optimized_route", res["order"] + [0], res["median_s"]))
        cands.append(("PyVRP 2 s (on our matrix)", seq, pyvrp_s))
        checked = [(lbl, *check(m, s, tw, service, horizon), t) for lbl, s, t in cands]
        feas = [c for c in checked if c[1]]
        best = min((c[3] for c in feas), default=min(c[3] for c in checked))
        out.append(f"\nday, 60 stops, {name}: travel on our matrix (5 min on site each; best = least travel "
                   "among feasible tours)")
        out.append("| solver | seconds | travel min | vs best | visits | feasible |\n|---|---:|---:|---:|---:|---|")
        for lbl, ok, why, cost, kept, t in checked:
            out.append(f"| {lbl} | {t:.3f} | {cost / 60:.1f} | {cost / best:.3f} | {kept} | "
                       f"{'yes' if ok else 'no: ' + why} |")
    return out


def report(args: argparse.Namespace, pbf: Path, city_build: dict[str, Any], d: dict[str, Any],
           our: dict[str, Any], eng: dict[str, dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    lines = [f"machine: {machine()}", f"date: {dt.date.today().isoformat()}",
             f"extract: {pbf.name} ({pbf.stat().st_size / 2**20:.1f} MiB); mode {args.mode}; our graph "
             f"{d['graph'].n_nodes} nodes; 500 points on its largest strongly connected piece (seed 17)"]
    vers = [f"{k} {v['version']}" for k, v in eng.items()]
    lines.append("engines: " + (", ".join(vers) if vers else "none") + "; in-process bindings (no HTTP)")
    for k, why in skipped.items():
        lines.append(f"{k}: not run: {why}")
    lines.append("\ntimes in ms (medians after a warm-up); ratio = engine / ours (> 1: ours faster)\n")
    lines.append("| row | includes | ours | OSRM MLD | OSRM CH | Valhalla | OSRM best / ours | Valhalla / ours |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    lines += ["| " + " | ".join(r) + " |" for r in speed_rows(our, eng, d["iso_minutes"], d["graph"])]
    lines += day_rows(d, our, eng)
    lines.append("\nagreement on the same points:")
    for k, v in eng.items():
        for alg, res in v["variants"].items():
            r = np.array(res["route_time_s"]) / np.array(our["route_time_s"])
            lines.append(f"- {k} {alg}".rstrip() + f": route time vs ours median {np.median(r):.3f}; matrix 200 "
                         + agreement(our["matrix_200_values"], res["matrix_200_values"]))
    b = [f"ours (geo-service bundle, everything) {city_build.get('total_s', '?')} s"
         + (" (cached)" if city_build.get("cached") else "")]
    if "OSRM" in eng:
        bo = eng["OSRM"]["build"]
        b.append(f"OSRM {bo['profile']} MLD {bo['mld_s']} s, CH {bo['ch_s']} s ({bo['seconds']})"
                 + (" (cached)" if bo.get("cached") else ""))
    if "Valhalla" in eng:
        bv = eng["Valhalla"]["build"]
        b.append(f"Valhalla tiles {bv['total_s']} s" + (" (cached)" if bv.get("cached") else ""))
    lines.append("\npreprocessing (not in the rows): " + "; ".join(b))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--osm", type=Path, default=SHARED_DATA / "andorra" / "andorra.osm.pbf")
    ap.add_argument("--bundle", type=Path, help="a built bundle of the same extract (default: build it)")
    ap.add_argument("--mode", choices=("walk", "drive"), default="walk")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, pairs and isochrones")
    ap.add_argument("--engines", default="OSRM,Valhalla", help="comma-separated, from OSRM,Valhalla")
    ap.add_argument("--osrm-python", help="a python with osrm-bindings (default: a venv under the cache)")
    ap.add_argument("--valhalla-python", help="a python with pyvalhalla (default: a venv under the cache)")
    ap.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = ap.parse_args()
    pbf = need(args.osm).resolve()
    repeat = 2 if args.quick else 5
    print(machine(), flush=True)
    city, city_build = load_city(pbf, args.bundle)
    d = draw(city, args.mode, args.quick)
    print(f"ours: queries ({args.mode})", flush=True)
    our = ours(city, d, args.mode, repeat)
    eng: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        py, why = engine_python(name, getattr(args, f"{name.lower()}_python"))
        if py is None:
            print(f"{name}: skipped: {why}", flush=True)
            skipped[name] = why
            continue
        print(f"{name}: preprocessing (cached) and queries", flush=True)
        cache = CACHE / f"{ENGINES[name][1]}-{args.mode}-{extract_key(pbf)}"
        ans, why = run_engine(name, py, request(d, pbf, args.mode, cache, repeat))
        if ans is None:
            print(f"{name}: skipped: {why}", flush=True)
            skipped[name] = why
            continue
        eng[name] = ans
    lines = report(args, pbf, city_build, d, our, eng, skipped)
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
