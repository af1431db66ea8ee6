"""Valhalla through ``pyvalhalla``'s ``Actor`` (in-process, no HTTP): route, matrix,
isochrone and optimized_route.

Run by ``benchmarks/bench_engines.py`` with the Valhalla venv's python: one JSON request on
stdin, one JSON answer on stdout. Tiles are built once under the request's ``cache``
folder with the wheel's ``valhalla_build_tiles`` (no admin or timezone databases, no
elevation). The service limits are raised so that 500 x 500 matrices and 61-stop trips are
accepted, and the matrix uses ``timedistancematrix`` (``select_optimal`` picked
``costmatrix`` for pedestrian, about 3x slower on the same answer in a trial on Andorra).

Every timed call includes snapping and the conversion of the answer to Python values
(``Actor`` takes and returns dicts): route = snap + path + the shape decoded to a list of
[lon, lat] (no maneuvers: ``directions_type`` none); matrix = ``sources_to_targets``
durations (``verbose`` off); isochrone = one polygon contour; optimized_route = Valhalla's
own matrix + its TSP, round trip from the first point.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import valhalla  # noqa: E402
from wcommon import emit, log, read_request, run_build, timed, timed_each  # noqa: E402

COSTING = {"walk": "pedestrian", "drive": "auto"}


def config(cache: Path) -> dict[str, Any]:
    c = valhalla.get_config(tile_extract="", tile_dir=cache / "tiles")
    c["thor"]["source_to_target_algorithm"] = "timedistancematrix"
    sl = c["service_limits"]
    for costing in ("pedestrian", "auto"):
        sl[costing]["max_matrix_location_pairs"] = 300_000
        sl[costing]["max_locations"] = 1000
    sl["isochrone"]["max_time_contour"] = 120
    return c


def build(req: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cache = Path(req["cache"])
    done = cache / "build.json"
    if done.exists():
        return config(cache), {**json.loads(done.read_text()), "cached": True}
    (cache / "tiles").mkdir(parents=True, exist_ok=True)
    cfg_path = cache / "valhalla.json"
    cfg_path.write_text(json.dumps(config(cache)))
    exe = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"
    seconds = run_build([("tiles", [str(exe), "-c", str(cfg_path), str(Path(req["pbf"]).resolve())])],
                        cache / "build.log")
    info = {"seconds": seconds, "total_s": seconds["tiles"]}
    done.write_text(json.dumps(info))
    return config(cache), {**info, "cached": False}


def decode6(shape: str) -> list[list[float]]:
    """An encoded polyline (precision 6) as [[lon, lat], ...]."""
    coords, idx, lat, lon = [], 0, 0, 0
    n = len(shape)
    while idx < n:
        vals = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(shape[idx]) - 63
                idx += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            vals.append(~(result >> 1) if result & 1 else result >> 1)
        lat += vals[0]
        lon += vals[1]
        coords.append([lon / 1e6, lat / 1e6])
    return coords


def run(actor: Any, req: dict[str, Any]) -> dict[str, Any]:
    costing = COSTING[req["mode"]]
    locs = [{"lat": lat, "lon": lon} for lat, lon in req["points"]]
    rep = int(req["repeat"])
    out: dict[str, Any] = {}

    def route(pair: list[int]) -> tuple[float, list[list[float]]]:
        r = actor.route({"locations": [locs[pair[0]], locs[pair[1]]], "costing": costing,
                         "directions_type": "none"})
        trip = r["trip"]
        return float(trip["summary"]["time"]), [c for leg in trip["legs"] for c in decode6(leg["shape"])]

    out["route"] = timed_each(route, req["pairs"], repeat=rep)
    out["route_time_s"] = [route(p)[0] for p in req["pairs"]]
    for n in req["sizes"]:
        def matrix(n: int = n) -> list[list[float | None]]:
            r = actor.matrix({"sources": locs[:n], "targets": locs[:n], "costing": costing, "verbose": False})
            return r["sources_to_targets"]["durations"]

        # The 500 x 500 matrix takes tens of seconds here: the smaller one is its warm-up.
        out[f"matrix_{n}"] = timed(matrix, repeat=rep if n <= 200 else 2, warmup=1 if n <= 200 else 0,
                                   budget_s=20.0)
        if n == min(req["sizes"]):
            out[f"matrix_{n}_values"] = matrix()
    out["isochrone"] = {}
    for minutes in req["iso"]["minutes"]:
        def iso(o: list[float], minutes: float = minutes) -> Any:
            return actor.isochrone({"locations": [{"lat": o[0], "lon": o[1]}], "costing": costing,
                                    "contours": [{"time": minutes}], "polygons": True})

        t = timed_each(iso, req["iso"]["origins"], repeat=max(1, rep // 2))
        geoms = [iso(o)["features"][0]["geometry"] for o in req["iso"]["origins"]]
        out["isochrone"][str(minutes)] = {**t, "geometries": geoms}
    out["day"] = {}
    for day in req["days"]:
        stops = [{"lat": lat, "lon": lon} for lat, lon in day["points"]]

        def opt(stops: list[dict[str, float]] = stops) -> Any:
            return actor.optimized_route({"locations": [*stops, stops[0]], "costing": costing,
                                          "directions_type": "none"})

        t = timed(opt, repeat=max(1, rep // 2))
        r = opt()
        order = [int(loc["original_index"]) for loc in r["trip"]["locations"]][:-1]
        out["day"][day["name"]] = {**t, "order": order, "duration_s": float(r["trip"]["summary"]["time"])}
    return out


def main() -> None:
    req = read_request()
    cfg, info = build(req)
    log("Valhalla: queries")
    actor = valhalla.Actor(cfg)
    emit({"engine": "Valhalla", "version": valhalla.__version__, "build": info,
          "variants": {"": run(actor, req)}})


if __name__ == "__main__":
    main()
