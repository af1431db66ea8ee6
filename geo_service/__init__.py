"""Geospatial service for Kazakhstan's district police inspectors.

Importing the package is cheap: the Flask app and the city are built only inside
`create_app`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo_service.version import __version__

__all__ = ["__version__", "create_app"]

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; load the city bundle once for this process.

    Parameters
    ----------
    config
        Settings overriding the defaults and ``GEO_SERVICE_*`` environment variables
        (see `geo_service.config.SETTINGS`). ``BUNDLE`` is the bundle folder; a loaded
        `CityBundle` may be passed as ``CITY`` instead (tests, the gunicorn master).
    """
    from geo_service.web.app import make_app  # noqa: PLC0415 - `import geo_service` must not load Flask

    return make_app(config)
