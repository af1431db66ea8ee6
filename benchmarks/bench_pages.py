"""The inspector's route page: server render time and page weight for 60 stops.

Target (issue 6): a route page for 60 stops renders on the server in <= 200 ms and
weighs <= 1.5 MB with its assets.

A 60-visit day is planned on Almaty (walking; ``/tmp/b/almaty`` or built from
../shared/data, falling back to the demo city), kept in the store and opened through
a signed link. Reported:

1. ``route_page`` render time (the roads index is cached per city, as the app does),
   median of 20; and the whole ``GET /r/<token>`` request (link check, store read,
   audit, render) through the test client, median of 20, with the precinct page's
   render as a baseline measured in the same process;
2. page weight: the HTML plus every vendored file it links, plus the fonts and images
   those style sheets name (an upper bound: a browser takes only the woff2 it needs),
   and, when Debian's Chromium is present, the bytes the browser actually received.

Run: ``python -m benchmarks.bench_pages``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED_DATA, machine, median, timeit

STATIC = Path(__file__).resolve().parents[1] / "geo_service" / "static"
N_STOPS = 60


def city_bundle():
    from geo_service.bundle import load_bundle
    from geo_service.ingest.build import BuildOptions, build_city

    for path in (Path("/tmp/b/almaty"), Path(tempfile.gettempdir()) / "bench_routes_almaty"):
        if (path / "manifest.json").exists():
            return load_bundle(path)
    osm = SHARED_DATA / "almaty" / "almaty.osm.pbf"
    if osm.exists():
        out = Path(tempfile.gettempdir()) / "bench_routes_almaty"
        build_city(BuildOptions(osm=osm, out=out, city="almaty"))
        return load_bundle(out)
    from geo_service.ingest.demo import ensure_demo_bundle

    return load_bundle(ensure_demo_bundle())


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
    for link in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
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


def browser_weight(app, url: str) -> int | None:
    """Bytes Chromium received loading the page (None without Chromium/Playwright)."""
    from geo_service.cli.maps import CHROMIUM, CHROMIUM_ARGS, PHONE, serve_in_thread

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.exists():
        return None
    total = 0
    with serve_in_thread(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(service_workers="block", **PHONE)
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
            page.goto(base + url, wait_until="load")
            page.wait_for_selector(".leaflet-marker-pane .gs-stop-icon")
            page.evaluate("document.fonts.ready.then(() => true)")
            page.wait_for_timeout(300)
            total = sum(sizes)
        finally:
            browser.close()
    return total


def main() -> int:
    from geo_service import create_app
    from geo_service.lookup.service import Lookup
    from geo_service.pages import RoadIndex, precinct_page, roads_geojson, route_page
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
    roads = roads_geojson(city.walk)
    index = RoadIndex(roads)

    def render() -> str:
        return route_page(city, plan, lang="ru", date="2026-12-01", gpx_url="/g", sheet_url="/s",
                          precinct=lookup.precinct_feature(i), post=lookup.precinct_info(i)["post"],
                          road_index=index)

    render()  # warm-up
    t_render = median(timeit(render, repeat=20))
    collection = lookup.precincts_geojson()
    t_precincts = median(timeit(lambda: precinct_page(city, collection, lang="ru", roads=roads), repeat=5))
    client = app.test_client()
    url = f"/r/{token}?lang=ru"
    assert client.get(url).status_code == 200
    t_request = median(timeit(lambda: client.get(url).data, repeat=20))
    served = client.get(url).get_data(as_text=True)

    assets, missing = asset_weight(served)
    if missing:
        print("missing assets:", missing)
    html_bytes = len(served.encode("utf-8"))
    total = html_bytes + assets
    print(f"route page render (route_page, 60 stops): median {t_render * 1000:.1f} ms  (target <= 200 ms)")
    print(f"GET /r/<token> whole request: median {t_request * 1000:.1f} ms")
    print(f"baseline, precinct page render ({len(collection['features'])} precincts, all roads): "
          f"median {t_precincts * 1000:.1f} ms; ratio route/precinct {t_render / t_precincts:.2f}")
    print(f"page weight: HTML {html_bytes / 1024:.0f} KiB + vendored assets {assets / 1024:.0f} KiB "
          f"= {total / 2**20:.2f} MiB (upper bound; target <= 1.5 MB)")
    seen = browser_weight(app, url)
    if seen is not None:
        print(f"page weight as loaded by Chromium (phone): {seen / 2**20:.2f} MiB")
    ok = t_render <= 0.2 and total <= 1.5e6
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
