"""The ``geo-service`` command: the parser, the dispatch, and errors as exit codes.

Each command imports its own stack when it runs (the ``# noqa: PLC0415`` lines):
``geo-service --help`` answers in a fraction of a second instead of the ~3 s that loading
geopandas, the solvers and Flask for every command would take. The longer commands live
in their own modules: `geo_service.cli.route`, `.site`, `.keys`, `.maps`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from geo_service.cli.export import add_export_parser, run_export
from geo_service.errors import GeoServiceError, InputError, ValidationFailed

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="geo-service", description="District police inspectors' geospatial service.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    _add_build(sub)

    s = sub.add_parser("serve", help="serve a city bundle with gunicorn")
    s.add_argument("--bundle", required=True, help="bundle folder")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=2)

    w = sub.add_parser("worker", help="run queued jobs (balance, schedule, siting) in worker processes")
    w.add_argument("--bundle", required=True, help="bundle folder (the one the web instances serve)")
    w.add_argument("--workers", type=int, default=1, help="worker processes (each runs one job at a time)")
    w.add_argument("--broker", help="JOBS_BROKER: redis://host:6379/0 or sqlite:///path (default: the setting)")
    w.add_argument("--database-url", help="DATABASE_URL of the store the web instances use (default: the setting)")

    d = sub.add_parser("demo", help="build (once) and serve the embedded demo city")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--rebuild", action="store_true", help="rebuild the cached demo bundle")
    d.add_argument("--no-serve", action="store_true", help="only build the demo bundle and print its path")

    lk = sub.add_parser("lookup", help="which precinct, inspector and post cover an address or a point")
    lk.add_argument("--bundle", required=True, help="bundle folder")
    lk.add_argument("address", nargs="?", help='address text, e.g. "Абая 150"')
    lk.add_argument("--lat", type=float)
    lk.add_argument("--lon", type=float)
    lk.add_argument("--address-id", help="the address register's code of a building (built with --addresses)")
    lk.add_argument("--limit", type=int, default=5, help="most candidates for an address")

    rt = sub.add_parser("route", help="plan one inspector's day from a visits CSV")
    rt.add_argument("--bundle", required=True)
    rt.add_argument("--inspector", required=True, help="inspector_id of the roster")
    rt.add_argument("--visits", required=True, type=Path,
                    help="CSV: id, lat, lon or address, minutes, priority (1-4), "
                         "windows (09:00-11:00;14:00-15:00), label")
    rt.add_argument("--date", help="YYYY-MM-DD (default: today)")
    rt.add_argument("--mode", default="walk", choices=["walk", "drive", "drive_walk"])
    rt.add_argument("--shift", default="09:00-18:00", help="HH:MM-HH:MM")
    rt.add_argument("--break", dest="breaks", action="append", default=[], help="HH:MM-HH:MM (repeatable)")
    rt.add_argument("--reception", action="store_true", help="hold the 17:00-20:00 reception at the post")
    rt.add_argument("--out", type=Path, help="write the plan as JSON")
    rt.add_argument("--gpx", type=Path, help="write the route as GPX")
    rt.add_argument("--sheet", type=Path, help="write the printable route sheet (HTML)")

    st = sub.add_parser("site", help="where to open new posts (MCLP, LSCP, p-median, backup coverage)")
    st.add_argument("--bundle", help="bundle folder (travel times over its road network)")
    st.add_argument("--matrix", type=Path, help="or a CSV cost matrix: first column demand id, an optional "
                    "'weight' column, one column per candidate site")
    st.add_argument("--model", required=True, choices=["mclp", "lscp", "pmedian", "backup"])
    st.add_argument("--minutes", type=float, help="T: covered within this time (matrix units with --matrix)")
    st.add_argument("--p", type=int, help="new posts to open (not for lscp)")
    st.add_argument("--mode", default="walk", choices=["walk", "drive"])
    st.add_argument("--candidates", default="nodes", choices=["nodes", "buildings", "grid"])
    st.add_argument("--max-candidates", type=int, default=2000)
    st.add_argument("--existing", default="posts", choices=["posts", "none"], help="keep the city's posts open")
    st.add_argument("--time-limit", type=float, default=60)
    st.add_argument("--out", type=Path, help="write the full result as JSON here")

    k = sub.add_parser("keys", help="API keys and user tokens").add_subparsers(dest="keys_cmd", required=True)
    kc = k.add_parser("create", help="create a key or token; the token is printed once")
    kc.add_argument("--name", required=True)
    kc.add_argument("--role", required=True, choices=["external_system", "inspector", "planner", "admin"])
    kc.add_argument("--kind", default="api_key", choices=["api_key", "user_token"])
    kc.add_argument("--subject", help="user id, e.g. the inspector id of the roster")
    kc.add_argument("--scope", action="append", default=[])
    kc.add_argument("--precinct", action="append", default=[], help="an inspector's precinct id (repeatable)")
    kc.add_argument("--expires-in", type=float, help="seconds (default: API_KEY_TTL or TOKEN_TTL)")
    kc.add_argument("--rate-limit", help='e.g. "120/minute" for this key')
    kc.add_argument("--database-url")
    kp = k.add_parser("password", help="set the sign-in password of a user token (kept as a salted scrypt hash)")
    kp.add_argument("credential_id", help="the id `keys create` printed (u_...)")
    kp.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    kp.add_argument("--database-url")
    _audit_and_db(sub)

    wl = sub.add_parser("workload", help="indicators and the workload index per precinct (CSV)")
    wl.add_argument("--bundle", required=True)
    wl.add_argument("--out", type=Path, help="write the CSV here (default: print it)")

    mp = sub.add_parser("maps", help="render the demo city's pages to maps/ (HTML and Chromium screenshots)")
    mp.add_argument("--out", type=Path, default=Path("maps"))

    add_export_parser(sub)

    i = sub.add_parser("info", help="print a bundle's manifest summary")
    i.add_argument("--bundle", required=True)
    return p


def _audit_and_db(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_cmd", required=True)
    ae = a.add_parser("export", help="write the audit log as CSV")
    ae.add_argument("--out", required=True)
    ae.add_argument("--since", help="ISO date or time")
    ae.add_argument("--database-url")
    av = a.add_parser("verify", help="check the audit log's hash chain; name the first broken row")
    av.add_argument("--database-url")
    db = sub.add_parser("db", help="the service's database").add_subparsers(dest="db_cmd", required=True)
    di = db.add_parser("init", help="create the tables as their owner and the service's least-privileged role")
    di.add_argument("--url", required=True, help="PostgreSQL URL of the tables' owner")
    di.add_argument("--app-role", required=True, help="login role the service connects as")
    di.add_argument("--schema", help="schema for the tables (default: the owner's current schema)")


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit code (2 for bad input, 1 for other failures)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return run_export(args) if args.command == "export" else _run(args)
    except ValidationFailed as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"geo-service: error: {exc.user_message}", file=sys.stderr)
        return 2
    except GeoServiceError as exc:
        print(f"geo-service: error: {exc.user_message}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    except KeyboardInterrupt:
        print("geo-service: interrupted; nothing was written", file=sys.stderr)
        return 130


def _worker(args: argparse.Namespace) -> int:
    from geo_service.cli.worker import run_worker_command  # noqa: PLC0415 - per command, see docstring

    return run_worker_command(args)


def _run(args: argparse.Namespace) -> int:
    if args.command == "build":
        return _run_build(args)
    if args.command == "serve":
        from geo_service.web.serve import serve  # noqa: PLC0415 - per command, see docstring

        serve(args.bundle, host=args.host, port=args.port, workers=args.workers)
        return 0
    if args.command == "worker":
        return _worker(args)
    if args.command == "demo":
        from geo_service.ingest.build import Progress  # noqa: PLC0415 - per command, see docstring
        from geo_service.ingest.demo import ensure_demo_bundle  # noqa: PLC0415 - per command, see docstring

        path = ensure_demo_bundle(rebuild=args.rebuild, progress=Progress())
        print(f"demo bundle: {path}")
        if args.no_serve:
            return 0
        from geo_service.web.serve import serve  # noqa: PLC0415 - per command, see docstring

        print(f"open http://{args.host}:{args.port}/ (pages) or /readyz (status)", flush=True)
        serve(str(path), host=args.host, port=args.port, workers=args.workers)
        return 0
    if args.command == "lookup":
        from geo_service.bundle import load_bundle  # noqa: PLC0415 - per command, see docstring
        from geo_service.lookup.service import Lookup  # noqa: PLC0415 - per command, see docstring

        given = (args.address is not None) + (args.address_id is not None) + (args.lat is not None or
                                                                               args.lon is not None)
        if given != 1 or (args.address is None and args.address_id is None and (args.lat is None or args.lon is None)):
            msg = "give an address, --address-id, or --lat and --lon (one of them)"
            raise InputError(msg)
        service = Lookup(load_bundle(args.bundle))
        if args.address_id is not None:
            answer = service.by_address_id(args.address_id)
        else:
            answer = (service.by_address(args.address, limit=args.limit) if args.address is not None
                      else service.by_point(args.lat, args.lon))
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    if args.command == "route":
        from geo_service.cli.route import run_route  # noqa: PLC0415 - per command, see docstring

        return run_route(args)
    if args.command == "site":
        from geo_service.cli.site import run_site  # noqa: PLC0415 - per command, see docstring

        return run_site(args)
    if args.command == "keys" and args.keys_cmd == "password":
        from geo_service.cli.keys import cli_set_password  # noqa: PLC0415 - per command, see docstring

        return cli_set_password(args.credential_id, from_stdin=args.password_stdin, database_url=args.database_url)
    if args.command == "keys":
        from geo_service.cli.keys import cli_create_key  # noqa: PLC0415 - per command, see docstring

        return cli_create_key(name=args.name, role=args.role, kind=args.kind, subject=args.subject, scopes=args.scope,
                              precinct_ids=args.precinct, expires_in=args.expires_in, rate_limit=args.rate_limit,
                              database_url=args.database_url)
    if args.command == "audit" and args.audit_cmd == "verify":
        from geo_service.cli.audit import cli_audit_verify  # noqa: PLC0415 - per command, see docstring

        return cli_audit_verify(database_url=args.database_url)
    if args.command == "db":
        from geo_service.cli.audit import cli_db_init  # noqa: PLC0415 - per command, see docstring

        return cli_db_init(url=args.url, app_role=args.app_role, schema=args.schema)
    if args.command == "audit":
        from geo_service.cli.keys import cli_audit_export  # noqa: PLC0415 - per command, see docstring

        return cli_audit_export(out_path=args.out, since=args.since, database_url=args.database_url)
    if args.command == "workload":
        from geo_service.bundle import load_bundle  # noqa: PLC0415 - per command, see docstring
        from geo_service.workload.indicators import indicators, summary, to_csv  # noqa: PLC0415 - per command, see docstring

        frame = indicators(load_bundle(args.bundle))
        text = to_csv(frame)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
            print(json.dumps(summary(frame), ensure_ascii=False, default=float))
        else:
            print(text, end="")
        return 0
    if args.command == "maps":
        from geo_service.cli.maps import render_maps  # noqa: PLC0415 - per command, see docstring

        for path in render_maps(args.out) or []:
            print(path)
        return 0
    if args.command == "info":
        from geo_service.bundle import load_bundle  # noqa: PLC0415 - per command, see docstring

        print(json.dumps(load_bundle(args.bundle).summary(), ensure_ascii=False, indent=2))
        return 0
    raise AssertionError(args.command)




def _add_build(sub: Any) -> None:
    b = sub.add_parser("build", help="build a city bundle from an OSM extract, precincts and a roster")
    b.add_argument("--osm", required=True, type=Path, help="OSM extract (.osm.pbf, .osm, .osm.bz2)")
    b.add_argument("--precincts", type=Path, help="precinct polygons (GeoJSON, GeoPackage, Shapefile)")
    b.add_argument("--precincts-crs", help="CRS to assume when the precinct file has none, e.g. EPSG:32643")
    b.add_argument("--roster", type=Path, help="inspector roster CSV")
    b.add_argument("--all-police", action="store_true",
                   help="keep every amenity=police object as a post (traffic police, exam centres included)")
    b.add_argument("--posts", type=Path, help="precinct posts (CSV post_id,name,lat,lon or a point layer)")
    b.add_argument("--addresses", type=Path,
                   help="address register (CSV, GeoPackage, GeoParquet, GeoJSON): address_id, street, house, point")
    b.add_argument("--clip", help="minlon,minlat,maxlon,maxlat or a polygon file: build only this area")
    b.add_argument("--city", help="city name (default: the OSM file name)")
    b.add_argument("--city-name", help="the city's name per language for the pages, e.g. kk=Алматы,ru=Алматы,en=Almaty")
    b.add_argument("--out", required=True, type=Path, help="bundle folder to write")
    b.add_argument("--quiet", action="store_true", help="no progress output")


def _run_build(args: argparse.Namespace) -> int:
    from geo_service.ingest.build import BuildOptions, Progress, build_city  # noqa: PLC0415 - per command, see docstring

    opts = BuildOptions(osm=args.osm, out=args.out, precincts=args.precincts, roster=args.roster,
                        posts=args.posts, addresses=args.addresses, clip=args.clip, city=args.city,
                        precincts_crs=args.precincts_crs, extra_manifest=_city_names(args.city_name),
                        all_police=args.all_police)
    manifest = build_city(opts, progress=Progress(enabled=not args.quiet))
    for line in manifest["problems"]:
        print(line, file=sys.stderr)
    print(f"built {args.out} ({manifest['bundle_version']}) in {manifest['build_seconds']} s: "
          + ", ".join(f"{k} {v}" for k, v in manifest["counts"].items()))
    return 0


def _city_names(text: str | None) -> dict[str, object]:
    """``--city-name kk=Алматы,ru=Алматы,en=Almaty`` as the manifest's ``city_names`` (empty without it)."""
    if not text:
        return {}
    names: dict[str, str] = {}
    for part in text.split(","):
        lang, sep, name = part.partition("=")
        if not sep or not lang.strip() or not name.strip():
            msg = f"--city-name: {part!r} is not LANG=NAME (e.g. kk=Алматы,ru=Алматы,en=Almaty)"
            raise InputError(msg)
        names[lang.strip().lower()] = name.strip()
    return {"city_names": names}
