"""HTML pages people read (Folium maps and small pages), framework-free; translations; vendored assets.

One module per page (`precincts`, `route`, `siting`, `workload`, `balance`, `public`, `shell`), built
from `kit` (the figure, the template environment, formats) and `layers` (what each map layer
carries). The names below are the pages' public surface; ``from geo_service.pages import
route_page`` works.

The names load their module on first use, so importing the package (or `i18n`, `assets`)
does not import folium: the server starts without it and loads it on the first page.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_service.pages.balance import balance_page
    from geo_service.pages.kit import APP_DIR, city_name
    from geo_service.pages.layers import PALETTE, RoadIndex, precinct_colours, precinct_layer_data, roads_geojson
    from geo_service.pages.precincts import precinct_page
    from geo_service.pages.public import public_precinct_page
    from geo_service.pages.route import nav_links, route_layer_data, route_page
    from geo_service.pages.sheet import sheet_html
    from geo_service.pages.shell import api_docs_page, error_page, home_page, service_worker_js, shell_files
    from geo_service.pages.signin import sign_in_page
    from geo_service.pages.siting import siting_page, siting_waiting_page
    from geo_service.pages.workload import dashboard_page, trend_svg, workload_layer_data, workload_page

__all__ = [
    "APP_DIR",
    "PALETTE",
    "RoadIndex",
    "api_docs_page",
    "balance_page",
    "city_name",
    "dashboard_page",
    "error_page",
    "home_page",
    "nav_links",
    "precinct_colours",
    "precinct_layer_data",
    "precinct_page",
    "public_precinct_page",
    "roads_geojson",
    "route_layer_data",
    "route_page",
    "service_worker_js",
    "sheet_html",
    "shell_files",
    "sign_in_page",
    "siting_page",
    "siting_waiting_page",
    "trend_svg",
    "workload_layer_data",
    "workload_page",
]

#: The module of each public name.
_MODULE_OF: dict[str, str] = {
    "APP_DIR": "kit",
    "balance_page": "balance",
    "city_name": "kit",
    **dict.fromkeys(("PALETTE", "RoadIndex", "precinct_colours", "precinct_layer_data", "roads_geojson"), "layers"),
    "precinct_page": "precincts",
    "public_precinct_page": "public",
    **dict.fromkeys(("nav_links", "route_layer_data", "route_page"), "route"),
    **dict.fromkeys(("api_docs_page", "error_page", "home_page", "service_worker_js", "shell_files"), "shell"),
    **dict.fromkeys(("siting_page", "siting_waiting_page"), "siting"),
    "sheet_html": "sheet",
    "sign_in_page": "signin",
    **dict.fromkeys(("dashboard_page", "trend_svg", "workload_layer_data", "workload_page"), "workload"),
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its page module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the not yet loaded public ones included."""
    return sorted({*globals(), *__all__})
