"""``geo-service export``: a bundle's road graph as a file planners open in osmnx, networkx,
geopandas or QGIS (`geo_service.network.export`). The parser loads nothing heavy; the
command imports its stack when it runs, as every command does (see `geo_service.cli`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_export_parser", "run_export"]


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """The ``export`` command's arguments."""
    ex = sub.add_parser("export", help="write a bundle's walking or driving graph as GraphML (osmnx) or GeoPackage")
    ex.add_argument("--bundle", required=True, help="bundle folder")
    ex.add_argument("--graph", default="walk", choices=["walk", "drive"])
    ex.add_argument("--format", default="graphml", choices=["graphml", "gpkg"])
    ex.add_argument("--out", required=True, type=Path, help="file to write (.graphml or .gpkg)")


def run_export(args: argparse.Namespace) -> int:
    """Write the graph; print what was written as one JSON line."""
    from geo_service.bundle import load_bundle  # noqa: PLC0415 - per command (see geo_service.cli)
    from geo_service.network.export import write_graph  # noqa: PLC0415 - networkx and geopandas, per command

    city = load_bundle(args.bundle)
    print(json.dumps(write_graph(city.graph(args.graph), args.out, fmt=args.format), ensure_ascii=False))
    return 0
