"""Foundation figures on the Almaty extract: build, server start, one route, memory.

Run: ``python benchmarks/bench_foundation.py`` (needs ../shared/data). Prints the
machine, medians, and ratios against baselines run in the same process:
osmnx ``graph_from_xml`` (building from OSM each start), and osmnx ``nearest_nodes``
+ networkx ``shortest_path`` for one route.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, machine, median, need  # noqa: E402


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line; add its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result.setdefault("peak_rss_mb", max(after, before) / 1024)
    return result


BUILD = """
import json, resource, time
t = time.perf_counter()
from geo_service.ingest.build import BuildOptions, build_city
build_city(BuildOptions(osm={osm!r}, out={out!r}, city="almaty"))
print(json.dumps({{"seconds": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

START = """
import json, resource, time
t = time.perf_counter()
import geo_service.web.app
from geo_service import create_app
t1 = time.perf_counter()
app = create_app({{"BUNDLE": {out!r}}})
t2 = time.perf_counter()
app.test_client().get("/readyz")
print(json.dumps({{"seconds": t2 - t, "imports": t1 - t, "load": t2 - t1,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

OSMNX = """
import json, resource, time, warnings
warnings.simplefilter("ignore")
t = time.perf_counter()
import osmnx as ox
G = ox.graph_from_xml({xml!r}, simplify=True, retain_all=False)
print(json.dumps({{"seconds": time.perf_counter() - t, "nodes": len(G), "edges": G.number_of_edges(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pbf = need(SHARED_DATA / "almaty" / "almaty.osm.pbf")
    xml = need(SHARED_DATA / "almaty" / "almaty.clean.osm.bz2")
    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-foundation-"))
    out = tmp / "almaty"

    builds = [_child(BUILD.format(osm=str(pbf), out=str(out))) for _ in range(args.repeat)]
    build_s = median([b["seconds"] for b in builds])
    build_rss = median([b["peak_rss_mb"] for b in builds])
    runs = ", ".join(f"{b['seconds']:.2f}" for b in builds)
    print(f"build Almaty from PBF: median {build_s:.2f} s over {args.repeat} runs "
          f"(runs {runs}), peak RSS {build_rss:.0f} MB  [target <= 30 s]")

    starts = [_child(START.format(out=str(out))) for _ in range(max(5, args.repeat))]
    start_s = median([s["seconds"] for s in starts])
    imports_s, load_s = median([s["imports"] for s in starts]), median([s["load"] for s in starts])
    print(f"server start (imports + bundle load, fresh process): median {start_s:.3f} s "
          f"(imports {imports_s:.3f} s, load {load_s:.3f} s), "
          f"peak RSS {median([s['peak_rss_mb'] for s in starts]):.0f} MB  [target <= 1 s]")
    base = [_child(OSMNX.format(xml=str(xml))) for _ in range(max(1, args.repeat // 2))]
    base_s = median([b["seconds"] for b in base])
    print(f"baseline osmnx graph_from_xml (clean XML, one graph, imports included): median {base_s:.2f} s, "
          f"peak RSS {median([b['peak_rss_mb'] for b in base]):.0f} MB, {base[0]['nodes']} nodes")
    print(f"ratio: start from bundle is {base_s / start_s:.1f}x faster than osmnx from OSM; "
          f"{build_s / start_s:.1f}x faster than our own build")

    # One route in-process, against osmnx nearest_nodes + networkx shortest_path.
    from geo_service.bundle import load_bundle

    city = load_bundle(out)
    gc.collect()
    gc.freeze()
    g = city.walk
    rng = random.Random(7)
    lat0, lat1 = float(g.lat.min()), float(g.lat.max())
    lon0, lon1 = float(g.lon.min()), float(g.lon.max())
    centre = ((lat0 + lat1) / 2, (lon0 + lon1) / 2)

    def point() -> tuple[float, float]:
        i = rng.randrange(g.n_nodes)
        return float(g.lat[i]) + rng.uniform(-2e-4, 2e-4), float(g.lon[i]) + rng.uniform(-2e-4, 2e-4)

    pairs = [(point(), point()) for _ in range(2000)]
    times = []
    for (a, b) in pairs:
        t0 = time.perf_counter()
        r = g.route(a[0], a[1], b[0], b[1])
        _ = r.coords if r is not None else None
        times.append(time.perf_counter() - t0)
    ours = median(times)

    import networkx as nx
    import osmnx as ox
    from pyproj import Transformer

    utm = city.manifest["crs_projected"]
    to_utm = Transformer.from_crs(4326, utm, always_xy=True)
    xs, ys = to_utm.transform(g.lon, g.lat)
    # A projected graph, so osmnx snaps with scipy's KD-tree (unprojected needs scikit-learn).
    nxg = nx.MultiDiGraph(crs=utm)
    for i in range(g.n_nodes):
        nxg.add_node(i, x=float(xs[i]), y=float(ys[i]), lon=float(g.lon[i]), lat=float(g.lat[i]))
    for t, h, w, ln in zip(g.tail.tolist(), g.head.tolist(), g.time_ms.tolist(), g.length_m.tolist()):
        nxg.add_edge(t, h, travel_time=w / 1000, length=ln)
    base_times = []
    for (a, b) in pairs[:100]:
        t0 = time.perf_counter()
        (ax, bx), (ay, by) = to_utm.transform([a[1], b[1]], [a[0], b[0]])
        u = ox.distance.nearest_nodes(nxg, ax, ay)
        v = ox.distance.nearest_nodes(nxg, bx, by)
        path = ox.routing.shortest_path(nxg, u, v, weight="travel_time")
        _ = [(nxg.nodes[n]["lon"], nxg.nodes[n]["lat"]) for n in path] if path else None
        base_times.append(time.perf_counter() - t0)
    base_route = median(base_times)
    print(f"one walking route (snap both ends, CCH shortest path, path coordinates): median {ours * 1e3:.3f} ms "
          f"over {len(pairs)} random pairs  [target <= 0.2 ms]")
    print(f"baseline osmnx nearest_nodes + shortest_path on the same graph: median {base_route * 1e3:.1f} ms "
          f"over 100 pairs; ratio {base_route / ours:.0f}x")

    # Memory: bytes per edge, compact arrays vs networkx with the same attributes.
    per_edge = g.nbytes() / g.n_edges
    del nxg
    gc.collect()
    tracemalloc.start()
    nxg2 = nx.MultiDiGraph()
    for i in range(g.n_nodes):
        nxg2.add_node(int(g.node_osm[i]), x=float(g.lon[i]), y=float(g.lat[i]))
    for t, h, w, ln, nm, wid in zip(g.tail.tolist(), g.head.tolist(), g.time_ms.tolist(), g.length_m.tolist(),
                                    g.name_id.tolist(), g.way_id.tolist()):
        nxg2.add_edge(int(g.node_osm[t]), int(g.node_osm[h]), osmid=wid, name=g.names[nm], length=ln,
                      travel_time=w / 1000, speed_kph=4.8, highway="residential")
    nx_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory: walking graph {g.n_nodes} nodes / {g.n_edges} edges: compact arrays {per_edge:.0f} bytes/edge; "
          f"networkx with OSM-like attributes {nx_bytes / g.n_edges:.0f} bytes/edge; "
          f"ratio {nx_bytes / g.n_edges / per_edge:.0f}x")
    print(f"served bundle (walk + drive + tables), fresh process: peak RSS "
          f"{median([s['peak_rss_mb'] for s in starts]):.0f} MB")
    print(f"centre of the extract: {centre[0]:.4f}, {centre[1]:.4f}")


if __name__ == "__main__":
    main()
