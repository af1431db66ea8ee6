"""Admin endpoints: API keys and user tokens, and reloading the city bundle without downtime.

Reload: the new bundle is loaded beside the old one, then ``app.extensions["geo_service"]``
is replaced in one assignment; a request that already holds the old city finishes with
it. Under gunicorn each worker is its own process: the worker that answers
``POST /admin/reload`` records the reload in the store, and every other worker (and
every other instance on the same database) sees it within ``BUNDLE_POLL_SECONDS`` and
loads the same bundle in a background thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from geo_service.bundle import CityBundle, load_bundle
from geo_service.errors import GeoServiceError, InputError, ValidationFailed
from geo_service.web.context import EXTENSION, get_store
from geo_service.web.security import access, audit, setting
from geo_service.web.validation import bounded_text, parse_json_body

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

GENERATION_EXT = "geo_service.bundle_generation"
_META_KEY = "bundle_reload"
_reload_lock = threading.Lock()


class ReloadBusy(GeoServiceError):
    """A reload is already running (409)."""

    status = 409
    title = "Reload in progress"


class BundleRejected(GeoServiceError):
    """The new bundle failed to load; the old one stays in service (422)."""

    status = 422
    title = "Bundle rejected"


# -- keys --------------------------------------------------------------------------------

def _str_list(body: dict[str, Any], name: str, *, max_items: int) -> list[str]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        msg = f"{name} must be a list of at most {max_items} texts"
        raise InputError(msg)
    return [bounded_text(v, name) for v in value]  # type: ignore[misc]


@bp.post("/keys")
@access("admin")
def create_key() -> tuple[Response, int]:
    """Create an API key or user token; the token is in this answer and nowhere else."""
    body = parse_json_body(max_depth=4, max_bytes=16_384)
    name = bounded_text(body.get("name"), "name")
    role = body.get("role")
    kind = body.get("kind", "api_key")
    # role and kind are checked by the store, which refuses unknown ones with the same problem.
    precinct_ids = _str_list(body, "precinct_ids", max_items=100)
    scopes = _str_list(body, "scopes", max_items=50)
    city = current_app.extensions.get(EXTENSION)
    if city is not None and precinct_ids:
        known = set(city.precincts["precinct_id"].astype(str))
        unknown = [p for p in precinct_ids if p not in known]
        if unknown:
            raise ValidationFailed("unknown precinct ids", problems=[f"precinct_id {p} is not in the loaded city"
                                                                     for p in unknown[:20]])
    default_ttl = setting("API_KEY_TTL" if kind == "api_key" else "TOKEN_TTL")
    expires_in = body.get("expires_in", default_ttl)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        raise InputError("expires_in must be a number of seconds")
    rate_limit = body.get("rate_limit")
    if rate_limit is not None:
        rate_limit = bounded_text(rate_limit, "rate_limit", max_len=64)
    subject = bounded_text(body.get("subject"), "subject", required=False) if body.get("subject") else None
    cid, token = get_store().create_credential(name=name, role=role, kind=kind, subject=subject,  # type: ignore[arg-type]
                                               scopes=scopes, precinct_ids=precinct_ids, expires_in=expires_in,
                                               rate_limit=rate_limit)
    audit("create_key", record_type="credential", record_id=cid)
    cred = get_store().get_credential(cid)
    assert cred is not None
    return jsonify({**cred.to_dict(), "token": token}), 201


@bp.get("/keys")
@access("admin")
def list_keys() -> Response:
    """Every credential, without secrets or hashes."""
    return jsonify(keys=[c.to_dict() for c in get_store().list_credentials()])


@bp.delete("/keys/<key_id>")
@access("admin")
def revoke_key(key_id: str) -> Response:
    """Revoke a credential at once (kept in the list, marked revoked)."""
    cred = get_store().revoke(key_id[:40])
    audit("revoke_key", record_type="credential", record_id=cred.id)
    return jsonify(cred.to_dict())


# -- reload ------------------------------------------------------------------------------

def reload_bundle(app: Flask, path: str | None = None) -> tuple[CityBundle | None, CityBundle]:
    """Load ``path`` (default: the BUNDLE setting) and swap it in; return (old, new).

    `ReloadBusy` (409) when a reload is already running; `BundleRejected` (422) when the
    new bundle fails to load, the old one staying in service.
    """
    if not _reload_lock.acquire(blocking=False):
        raise ReloadBusy("another reload is running; try again when it has finished")
    try:
        path = path or app.config.get("BUNDLE")
        if not path:
            raise BundleRejected("no bundle to load: give \"bundle\" in the body or set BUNDLE")
        t0 = time.perf_counter()
        try:
            new = load_bundle(path)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the old bundle
            logger.warning("reload of %s refused: %s", path, exc)
            detail = exc.user_message if isinstance(exc, GeoServiceError) else "the bundle could not be read"
            raise BundleRejected(f"the new bundle failed to load; the old one stays in service: {detail}") from exc
        old = app.extensions.get(EXTENSION)
        app.extensions[EXTENSION] = new  # one assignment: requests see the old or the new city
        app.config["BUNDLE"] = str(path)
        logger.info("bundle reloaded: %s %s in %.1f s", new.manifest.get("city"),
                    new.manifest.get("bundle_version"), time.perf_counter() - t0)
        return old, new
    finally:
        _reload_lock.release()


def _brief(city: CityBundle | None) -> dict[str, Any] | None:
    if city is None:
        return None
    return {"city": city.manifest.get("city"), "bundle_version": city.manifest.get("bundle_version")}


@bp.post("/reload")
@access("admin")
def reload() -> Response:
    """Swap in a new city bundle (``{"bundle": path}`` or the configured one) without downtime."""
    path = None
    if request.content_length:
        body = parse_json_body(max_depth=2, max_bytes=4096)
        path = bounded_text(body.get("bundle"), "bundle", max_len=1024, required=False)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        old, new = reload_bundle(app, path)
    except GeoServiceError:
        audit("reload", record_type="bundle", record_id=None, outcome="refused")
        raise
    gen = _publish(app, str(app.config["BUNDLE"]))
    audit("reload", record_type="bundle", record_id=str(new.manifest.get("bundle_version")))
    return jsonify(status="reloaded", previous=_brief(old), current=_brief(new), generation=gen)


# -- the other workers -------------------------------------------------------------------

def _read_meta(app: Flask) -> tuple[int, str | None]:
    raw = get_store(app).get_meta(_META_KEY)
    if not raw:
        return 0, None
    doc = json.loads(raw)
    return int(doc.get("generation", 0)), doc.get("path")


def _publish(app: Flask, path: str) -> int:
    gen = _read_meta(app)[0] + 1
    get_store(app).set_meta(_META_KEY, json.dumps({"generation": gen, "path": path}))
    app.extensions[GENERATION_EXT] = gen
    return gen


def warm_reload(app: Flask) -> None:
    """Open the store and remember the reload generation now (the server does this before
    taking requests, in the master before workers fork)."""
    app.extensions[GENERATION_EXT] = _read_meta(app)[0]


def init_reload(app: Flask) -> None:
    """Remember the reload generation at start; poll for reloads made by other processes."""
    # The generation at start is read on the first poll, so start-up does not open the store.
    app.extensions[GENERATION_EXT] = None
    interval = float(setting("BUNDLE_POLL_SECONDS", app) or 0)
    if interval <= 0:
        return
    state = {"next": 0.0}  # the first request reads the generation if `warm_reload` did not

    @app.before_request
    def _poll_reload() -> None:
        now = time.monotonic()
        if now < state["next"]:
            return
        state["next"] = now + interval
        try:
            gen, path = _read_meta(app)
        except Exception:  # noqa: BLE001 - the store being down must not fail requests
            logger.exception("cannot read the reload generation")
            return
        if app.extensions.get(GENERATION_EXT) is None:
            app.extensions[GENERATION_EXT] = gen
            return
        if gen > app.extensions[GENERATION_EXT] and path and not _reload_lock.locked():
            threading.Thread(target=_background_reload, args=(app, path, gen), daemon=True,
                             name="bundle-reload").start()


def _background_reload(app: Flask, path: str, gen: int) -> None:
    try:
        reload_bundle(app, path)
        app.extensions[GENERATION_EXT] = gen
    except ReloadBusy:
        pass
    except GeoServiceError as exc:
        app.extensions[GENERATION_EXT] = gen  # do not retry a bundle that fails to load
        logger.error("reload to generation %d (%s) failed: %s", gen, path, exc.user_message)

