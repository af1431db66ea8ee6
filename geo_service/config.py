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
    "BUNDLE": (None, "path of the city bundle folder to serve (the link `geo-service build --out` makes)"),
    "BUNDLE_ROOT": (None, "folder every bundle named in POST /admin/reload must be under; "
                          "default: the folder holding BUNDLE"),
    "CONTROL_SOCKET": (None, "gunicorn control socket of `geo-service serve`: default geo-service-<host>-<port>.ctl "
                             "in $XDG_RUNTIME_DIR or ~/.gunicorn (one per instance); none: no socket"),
    "MAX_CONTENT_LENGTH": (4 * 1024 * 1024, "largest request body accepted, in bytes (a 10,000-item batch fits)"),
    "DATABASE_URL": (None, "store of keys, plans and audit: sqlite:///file.db or postgresql+psycopg://user@host/db; "
                           "default geo-service.db in the instance folder or ~/.local/share/geo-service"),
    "RATELIMIT_STORAGE_URI": ("memory://", "rate-limit counters: memory:// (per worker process) or "
                                           "redis://127.0.0.1:6379 (shared by workers and instances)"),
    "RATELIMIT_STRATEGY": ("fixed-window",
                           "rate-limit algorithm: fixed-window, moving-window or sliding-window-counter"),
    "RATELIMIT_PUBLIC": ("60/minute", "limit per client address for API requests without credentials"),
    "RATELIMIT_PAGES": ("600/minute", "limit per client address for HTML pages without credentials, counted "
                                      "apart from RATELIMIT_PUBLIC (static files and tiles are not limited)"),
    "TRUSTED_PROXIES": (0, "reverse proxies in front of the service whose X-Forwarded-For/-Proto/-Host/-Port "
                           "are trusted (werkzeug ProxyFix); 0: none, the client address is the socket's"),
    "RATELIMIT_EXTERNAL": ("6000/minute", "limit per API key of an external system (a key's own rate_limit wins)"),
    "RATELIMIT_USER": ("600/minute", "limit per inspector, planner or admin credential"),
    "RATELIMIT_EXEMPT": ("health.livez,health.readyz", "endpoints never rate limited (probes), comma-separated"),
    "SECRET_KEY": (None, "signing key of route links; generated once and kept in the database when unset"),
    "TOKEN_TTL": (30 * 86400, "default lifetime of a user token, in seconds"),
    "API_KEY_TTL": (365 * 86400, "default lifetime of an API key, in seconds"),
    "LINK_TTL": (8 * 3600, "least default lifetime of a route-page link, in seconds (all of it for a plan "
                           "without a shift); a default link lives until the plan's shift end plus LINK_GRACE"),
    "LINK_GRACE": (2 * 3600, "how long after the plan's shift end a default route-page link still opens, in seconds"),
    "LINK_TTL_MAX": (24 * 3600, "longest lifetime a signed link may be given, in seconds"),
    "SESSION_TTL": (12 * 3600, "longest life of a browser sign-in session, in seconds (never past its credential's "
                               "expiry; revoking the credential ends it at once)"),
    "SESSION_COOKIE_SECURE": (False, "send the session cookie with Secure even on plain http (set it behind a TLS "
                                     "proxy that TRUSTED_PROXIES does not cover); https requests always get Secure"),
    "SIGNIN_RATE_LIMIT": ("10/minute", "sign-in attempts (POST /sign-in) per client address, on top of "
                                        "RATELIMIT_PAGES"),
    "ACCESS_DEFAULT_DENY": (True, "refuse (403) any view that declares no role with @access"),
    "JOBS_BROKER": (None, "queue of long jobs: redis://host:6379/0 (several machines; run `geo-service worker`), "
                          "sqlite:///path (one machine), memory:// (one process); unset: serve forks a worker on "
                          "a SQLite queue beside the store, an app alone runs jobs in a thread"),
    "JOBS_WORKER": (None, "where this app's jobs run: thread (in this process), external (worker processes); "
                          "unset: thread without JOBS_BROKER, external with it"),
    "JOB_HEARTBEAT_SECONDS": (5.0, "how often a running job's worker records that it is alive"),
    "JOB_LOST_SECONDS": (30.0, "a running job whose heartbeat is older is retried (once) or failed with the reason"),
    "JOB_REQUEUE_SECONDS": (30.0, "a queued job the broker lost (a restart) is handed to it again after this"),
    "JOB_SWEEP_SECONDS": (5.0, "how often each worker looks for lost and stranded jobs"),
    "BUNDLE_POLL_SECONDS": (5, "how often each worker checks whether an admin reloaded the bundle elsewhere"),
    "RELOAD_GROUP": (None, "the instances and workers that follow each other's reloads on one database (letters, "
                           "digits, . _ -): one per bundle, e.g. per oblast; unset: every instance on the database"),
    "SITING_MAP_INLINE_WORK": (240, "a siting map whose service areas are not kept yet is drawn in the page request "
                                    "when its posts x minutes are at most this (16 posts at 15 min); over it the "
                                    "areas are a queued job (kind siting_map) and the page waits for it"),
    "TIME_ZONE": ("Asia/Almaty", "the city's time zone (IANA name): dates of visits made, times on the route page"),
    "CONTENT_SECURITY_POLICY": (None, "Content-Security-Policy header; None: the built-in policy for the map pages"),
}


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then ``GEO_SERVICE_*`` environment variables, then ``overrides``."""
    config = {name: default for name, (default, _) in SETTINGS.items()}
    for name, (default, _) in SETTINGS.items():
        env = os.environ.get(f"GEO_SERVICE_{name}")
        if env is not None:
            config[name] = _parse(env, default)
    if overrides:
        config.update(overrides)
    return config


def _parse(text: str, default: Any) -> Any:
    """An environment value as the type of the setting's default."""
    if isinstance(default, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    return text
