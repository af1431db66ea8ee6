"""Every setting with its default and a one-line meaning, overlaid from the environment.

An environment variable ``GEO_SERVICE_<NAME>`` overrides setting ``<NAME>``
(e.g. ``GEO_SERVICE_BUNDLE=/srv/almaty``); a dict given to ``create_app`` overrides both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

#: name -> (default, meaning)
SETTINGS: dict[str, tuple[Any, str]] = {
    "BUNDLE": (None, "path of the city bundle folder to serve"),
    "MAX_CONTENT_LENGTH": (2 * 1024 * 1024, "largest request body accepted, in bytes"),
    "LOG_LEVEL": ("INFO", "logging level of the service"),
}


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``GEO_SERVICE_*`` environment variables, then ``overrides``."""
    config = {name: default for name, (default, _) in SETTINGS.items()}
    for name, (default, _) in SETTINGS.items():
        env = os.environ.get(f"GEO_SERVICE_{name}")
        if env is not None:
            config[name] = type(default)(env) if isinstance(default, int) else env
    if overrides:
        config.update(overrides)
    return config
