"""OSRM through ``osrm-bindings`` (in-process, no HTTP): route, table and trip.

Run by ``benchmarks/bench_engines.py`` with the OSRM venv's python: one JSON request on
stdin (see ``bench_engines.request``), one JSON answer on stdout. The extract is prepared
once per profile under the request's ``cache`` folder: osrm-extract, then osrm-partition +
osrm-customize (MLD) and osrm-contract (CH) on the same files.

Every timed call includes snapping and the conversion of the answer to Python values:
route = snap + path + the full GeoJSON geometry as a list of [lon, lat]; table = the
durations as lists of floats; trip = OSRM's own table + its TSP heuristic, round trip from
the first point, full geometry.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import osrm  # noqa: E402
from wcommon import emit, log, read_request, run_build, timed, timed_each  # noqa: E402

PROFILES = {"walk": "foot.lua", "drive": "car.lua"}


def build(req: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    cache = Path(req["cache"])
    base = cache / "extract.osrm"
    done = cache / "build.json"
    if done.exists():
        return base, {**json.loads(done.read_text()), "cached": True}
    cache.mkdir(parents=True, exist_ok=True)
    pkg = Path(osrm.__file__).parent
    exe = pkg / "bin"
    profile = pkg / "share" / "profiles" / PROFILES[req["mode"]]
    pbf = cache / "extract.osm.pbf"
    if not pbf.exists():
        pbf.symlink_to(Path(req["pbf"]).resolve())
    seconds = run_build([
        ("extract", [str(exe / "osrm-extract"), "-p", str(profile), str(pbf)]),
        ("partition", [str(exe / "osrm-partition"), str(base)]),
        ("customize", [str(exe / "osrm-customize"), str(base)]),
        ("contract", [str(exe / "osrm-contract"), str(base)]),
    ], cache / "build.log")
    info = {"seconds": seconds, "profile": profile.name,
            "mld_s": round(seconds["extract"] + seconds["partition"] + seconds["customize"], 2),
            "ch_s": round(seconds["extract"] + seconds["contract"], 2)}
    done.write_text(json.dumps(info))
    return base, {**info, "cached": False}


def run(engine: Any, req: dict[str, Any]) -> dict[str, Any]:
    pts = [(lon, lat) for lat, lon in req["points"]]
    rep = int(req["repeat"])
    out: dict[str, Any] = {}

    def route(pair: list[int]) -> tuple[float, float, list[list[float]]]:
        r = engine.Route(osrm.RouteParameters(coordinates=[pts[pair[0]], pts[pair[1]]],
                                              geometries="geojson", overview="full"))
        rt = r["routes"][0]
        coords = [[c[0], c[1]] for c in rt["geometry"]["coordinates"]]
        return rt["duration"], rt["distance"], coords

    out["route"] = timed_each(route, req["pairs"], repeat=rep)
    out["route_time_s"] = [route(p)[0] for p in req["pairs"]]
    for n in req["sizes"]:
        def table(n: int = n) -> list[list[float | None]]:
            r = engine.Table(osrm.TableParameters(coordinates=pts[:n], annotations=["duration"]))
            return [[None if v is None else float(v) for v in row] for row in r["durations"]]

        out[f"matrix_{n}"] = timed(table, repeat=rep if n <= 200 else max(1, rep // 2), warmup=1)
        if n == min(req["sizes"]):
            out[f"matrix_{n}_values"] = table()
    out["day"] = {}
    for day in req["days"]:
        coords = [(lon, lat) for lat, lon in day["points"]]

        def trip(coords: list[tuple[float, float]] = coords) -> Any:
            return engine.Trip(osrm.TripParameters(coordinates=coords, source="first", roundtrip=True,
                                                   geometries="geojson", overview="full"))

        t = timed(trip, repeat=rep)
        r = trip()
        pos = [int(w["waypoint_index"]) for w in r["waypoints"]]
        order = sorted(range(len(pos)), key=lambda i: pos[i])
        out["day"][day["name"]] = {**t, "order": order, "duration_s": float(r["trips"][0]["duration"])}
    return out


def main() -> None:
    req = read_request()
    base, info = build(req)
    answer: dict[str, Any] = {"engine": "OSRM", "version": metadata.version("osrm-bindings"), "build": info,
                              "variants": {}}
    n_max = max(len(req["points"]), *(len(d["points"]) for d in req["days"])) + 1
    for alg in req.get("algorithms", ["MLD", "CH"]):
        log(f"OSRM {alg}: queries")
        engine = osrm.OSRM(algorithm=alg, storage_config=str(base), use_shared_memory=False,
                           max_locations_distance_table=n_max, max_locations_trip=n_max,
                           max_locations_viaroute=n_max)
        answer["variants"][alg] = run(engine, req)
        del engine
    emit(answer)


if __name__ == "__main__":
    main()
