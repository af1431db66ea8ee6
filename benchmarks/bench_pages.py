"""The pages' weight as a phone receives them, and the route page's render time.

Targets (issue 21, measured in a real browser, Playwright + Debian's Chromium, phone
context 390 x 844): the route page's first load <= 300 KB transferred, a repeat load
<= 30 KB, every page's first load <= 600 KB. (Issue 6: a route page for 60 stops renders
on the server in <= 200 ms.)

The demo city (Almaty 2012, `geo-service demo`'s bundle, with its base map tiles) is
served on 127.0.0.1; a 60-visit walking day is planned around the post with the most
addresses nearby and opened through a signed link; a planner's MCLP result, the demo
inspector's plan and a precinct give the other pages. "Transferred" is what Chromium's
network layer reports per response (``Network.loadingFinished.encodedDataLength``:
headers and the compressed body; zero for what its HTTP cache answered), summed over the
page's requests until the network is idle (tiles included; the precinct map draws its
precincts from the tiles, so its HTML holds only the posts, not the polygons). The service worker is
blocked (it would fetch its shell after the page loaded; measured apart: ``--sw``).
A repeat load is the same page opened again in the same browser context.
Requests to anything but loopback are counted and reported (there should be none).

Run: ``python -m benchmarks.bench_pages``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import machine, median, timeit

STATIC = Path(__file__).resolve().parents[1] / "geo_service" / "static"
N_STOPS = 60


def city_bundle():
    """The demo city's bundle (built once into the demo cache, tiles included)."""
    from geo_service.bundle import load_bundle
    from geo_service.ingest.demo import ensure_demo_bundle

    path = ensure_demo_bundle()
    if not (path / "tiles.pmtiles").exists():  # a cached demo of an older build: no tiles
        path = ensure_demo_bundle(rebuild=True)
    return load_bundle(path)


def sixty_visits(city):
    """The post with the most addresses within 1.5 km, and its 60 nearest addresses."""
    from geo_service.routes.model import Visit

    a = city.addresses
    lat, lon = a.lat.to_numpy(), a.lon.to_numpy()
    best = None
    for post in city.posts.itertuples():
        d = np.hypot((lat - post.lat) * 111_000, (lon - post.lon) * 111_000 * np.cos(np.radians(post.lat)))
        near = np.argsort(d)[:N_STOPS]
        if len(near) == N_STOPS and (best is None or d[near].max() < best[2]):
            best = (post, near, d[near].max())
    post, near, _ = best
    visits = [Visit(id=f"v{k}", lat=float(lat[i]), lon=float(lon[i]), service_min=4, priority=3,
                    label=f"{a.street.iloc[i] or ''} {a.housenumber.iloc[i] or ''}".strip())
              for k, i in enumerate(near)]
    return post, visits


def asset_weight(html: str) -> tuple[int, list[str]]:
    """Bytes of the vendored files the page links and the fonts/images their CSS names."""
    files: set[Path] = set()
    for link in re.findall(r'(?:src|href)="/static/(?:h/[0-9a-f]{12}/)?([^"]+)"', html):
        files.add(STATIC / link)
    for css in [f for f in files if f.suffix == ".css"]:
        for ref in re.findall(r"url\(['\"]?([^'\")?#]+)", css.read_text(encoding="utf-8", errors="replace")):
            if ref.startswith("data:") or not ref.endswith((".woff2", ".png", ".svg")):
                continue
            path = (css.parent / ref).resolve()
            if path.is_file():
                files.add(path)
    missing = [str(f) for f in files if not f.is_file()]
    return sum(f.stat().st_size for f in files if f.is_file()), missing


def _load(context, url: str, ready: str | None) -> dict:
    """Open ``url`` in a new tab of ``context``; what came over the network until it was idle."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cached: set[str] = set()
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.requestServedFromCache", lambda e: cached.add(e["requestId"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="load")
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=20000)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    page.close()
    outside = [u for u in urls.values() if not u.startswith(("http://127.0.0.1", "data:", "blob:"))]
    by_kind: dict[str, int] = {}
    for rid, n in sizes.items():
        u = urls.get(rid, "")
        kind = ("tiles" if "/tiles/" in u else "static" if "/static/" in u else "page/api")
        by_kind[kind] = by_kind.get(kind, 0) + n
    largest = sorted(((n, urls.get(rid, "?").rsplit("/", 1)[-1]) for rid, n in sizes.items()), reverse=True)[:6]
    return {"bytes": sum(sizes.values()), "requests": len(urls), "from_cache": len(cached),
            "outside": outside, "by_kind": by_kind, "largest": largest}


def browser_transfers(app, pages: list[tuple[str, str, str | None, dict | None]], *,
                      service_worker: bool = False) -> dict[str, tuple[dict, dict]] | None:
    """Per page name: (first load, repeat load) as `_load` reports them; None without Chromium."""
    from geo_service.cli.maps import CHROMIUM, CHROMIUM_ARGS, PHONE, serve_in_thread

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    out = {}
    with serve_in_thread(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, url, ready, headers in pages:
                context = browser.new_context(service_workers="allow" if service_worker else "block",
                                              extra_http_headers=headers or {}, **PHONE)
                first = _load(context, base + url, ready)
                repeat = _load(context, base + url, ready)
                context.close()
                out[name] = (first, repeat)
        finally:
            browser.close()
    return out


def report_transfers(seen: dict[str, tuple[dict, dict]]) -> bool:
    """Print the table; True when every target holds."""
    ok = True
    print(f"{'page (phone, first load)':28} {'requests':>8} {'KB':>7} {'repeat KB':>9}  "
          f"{'(page/api, static, tiles KB)':>30}  target")
    for name, (first, repeat) in seen.items():
        kb, rkb = first["bytes"] / 1000, repeat["bytes"] / 1000
        parts = ", ".join(f"{first['by_kind'].get(k, 0) / 1000:.0f}" for k in ("page/api", "static", "tiles"))
        target = "<= 300 / <= 30" if name == "route" else "<= 600"
        good = (kb <= 300 and rkb <= 30) if name == "route" else kb <= 600
        ok &= good and not first["outside"]
        print(f"{name:28} {first['requests']:>8} {kb:>7.1f} {rkb:>9.1f}  {parts:>30}  {target} "
              f"{'ok' if good else 'FAIL'}{'  OUTSIDE: ' + str(first['outside'][:3]) if first['outside'] else ''}")
        if "-v" in sys.argv:
            print("    largest:", ", ".join(f"{u} {n / 1000:.0f}" for n, u in first["largest"]))
    return ok


def main() -> int:
    from geo_service import create_app
    from geo_service.cli.maps import demo_plan_and_siting
    from geo_service.lookup.service import Lookup
    from geo_service.pages import precinct_page, route_page
    from geo_service.pages.sheet import to_sheet_html
    from geo_service.routes.day import plan_day
    from geo_service.routes.gpx import to_gpx
    from geo_service.routes.model import Shift
    from geo_service.web.context import STORE_EXT
    from geo_service.web.security import sign_link

    print(machine())
    city = city_bundle()
    post, visits = sixty_visits(city)
    day = plan_day(city, start=(post.lat, post.lon), visits=visits, mode="walk", post=(post.lat, post.lon),
                   shift=Shift(start_min=8 * 60, end_min=22 * 60))
    plan = day.to_dict()
    stops = sum(1 for s in plan["stops"] if s["kind"] == "visit")
    print(f"city {city.manifest['city']}: {stops} visits routed around post {post.post_id} "
          f"({plan['totals']['length_m'] / 1000:.1f} km), {len(plan['unassigned'])} left out")
    if stops < N_STOPS:
        print(f"warning: only {stops} of {N_STOPS} visits fit the day")

    app = create_app({"CITY": city, "DATABASE_URL": "sqlite://", "RATELIMIT_PUBLIC": "100000/minute"})
    store = app.extensions[STORE_EXT]
    body = {"inspector_id": None, "precinct_id": post.precinct_id, "date": "2026-12-01", "plan": plan,
            "warnings": [], "gpx": to_gpx(day, name="bench", date="2026-12-01"),
            "sheet_html": to_sheet_html(day, title="bench", date="2026-12-01")}
    plan_id = store.save_plan(precinct_id=str(post.precinct_id), inspector_id=None, created_by="bench", body=body)
    with app.test_request_context():
        token = sign_link(plan_id, 3600)

    lookup = Lookup(city)
    i = lookup.index_of(str(post.precinct_id))
    tiles = {"url": "/tiles/v/{z}/{x}/{y}.mvt", "max_zoom": city.manifest["tiles"]["max_zoom"],
             "bounds": city.manifest["tiles"]["bounds"]}

    def render() -> str:
        return route_page(city, plan, lang="ru", date="2026-12-01", gpx_url="/g", sheet_url="/s",
                          precinct=lookup.precinct_feature(i), post=lookup.precinct_info(i)["post"], tiles=tiles)

    render()  # warm-up
    t_render = median(timeit(render, repeat=20))
    collection = lookup.precincts_geojson()
    t_precincts = median(timeit(lambda: precinct_page(city, collection, lang="ru", tiles=tiles), repeat=5))
    client = app.test_client()
    url = f"/r/{token}?lang=ru"
    assert client.get(url).status_code == 200
    t_request = median(timeit(lambda: client.get(url).data, repeat=20))
    served = client.get(url).get_data(as_text=True)
    assets, missing = asset_weight(served)
    if missing:
        print("missing assets:", missing)
    print(f"route page render (route_page, 60 stops): median {t_render * 1000:.1f} ms  (target <= 200 ms)")
    print(f"GET /r/<token> whole request: median {t_request * 1000:.1f} ms")
    print(f"baseline, precinct page render ({len(collection['features'])} precincts): "
          f"median {t_precincts * 1000:.1f} ms")
    tiled = client.get("/precincts/map?lang=ru", headers={"Accept-Encoding": "identity"}).get_data()
    inline = precinct_page(city, collection, lang="ru", tiles=None, roads={"type": "Feature", "properties": {},
                           "geometry": {"type": "MultiLineString", "coordinates": []}}).encode()
    print(f"precinct map HTML ({len(collection['features'])} precincts): {len(tiled) / 1000:.1f} KB, precincts from "
          f"the tiles (#21); {len(inline) / 1000:.1f} KB with every precinct inline (a bundle without tiles, roads "
          f"left out); the tiled page grows with the posts only")
    print(f"route page uncompressed: HTML {len(served.encode()) / 1000:.0f} KB + linked files {assets / 1000:.0f} KB "
          f"(what a browser without compression or cache would fetch, fonts counted whole)")

    demo = demo_plan_and_siting(app, city)
    planner = demo["planner"]
    pages = [("route", url, ".leaflet-marker-pane .gs-stop-icon", None),
             ("precinct map", "/precincts/map?lang=ru", ".leaflet-tile-pane canvas.leaflet-tile-loaded", None),
             ("home", "/?lang=kk", None, None),
             ("API docs", "/api/v1/docs?lang=en", ".swagger-ui .info", None),
             ("public precinct page", f"/p/{demo['precinct_id']}?lang=ru", ".leaflet-overlay-pane path", None),
             ("demo route (10 stops)", f"{demo['link']}?lang=kk", ".leaflet-marker-pane .gs-stop-icon", None),
             ("siting (planner)", f"/siting/{demo['siting_id']}/map?lang=en", ".leaflet-marker-pane .gs-post-icon",
              planner),
             ("workload (planner)", "/workload/map?lang=ru", "#gs-scale-items li", planner),
             ("dashboard (planner)", "/workload/dashboard?lang=ru", None, planner)]
    seen = browser_transfers(app, pages)
    ok = t_render <= 0.2
    if seen is None:
        print("no Chromium/Playwright: transfer sizes not measured")
        ok = False
    else:
        ok &= report_transfers(seen)
        print("(planner pages: every answer to credentials is no-store, so their repeat loads fetch all again)")
    if "--sw" in sys.argv and seen is not None:
        sw = browser_transfers(app, pages[:1], service_worker=True)
        first, repeat = sw["route"]
        print(f"with the service worker: route first load {first['bytes'] / 1000:.1f} KB in {first['requests']} "
              f"requests (the worker's shell and the route's tiles included), repeat {repeat['bytes'] / 1000:.1f} KB")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
