"""Admin endpoints: API keys and user tokens, and reloading the city bundle without downtime.

Reload: the new bundle is loaded beside the old one, then ``app.extensions["geo_service"]``
is replaced in one assignment; a request that already holds the old city finishes with
it. Under gunicorn each worker is its own process: the worker that answers
``POST /admin/reload`` records the reload in the store, and every other worker (and
every other instance on the same database) sees it within ``BUNDLE_POLL_SECONDS`` and
loads the same bundle in a background thread. Each worker also watches the link of the
bundle it serves (``build --out X`` repoints ``X``) and loads the new target when it changes;
a worker forked after a reload (gunicorn respawning a crashed one) catches up before it
takes a request (`catch_up`), rather than serving the master's bundle from start-up.

A bundle named in the body must be an absolute path without ``..`` under ``BUNDLE_ROOT``
(default: the folder holding the bundle served at start); every refusal, whatever its
reason (outside, absent, not a folder, not a bundle), is the same problem naming the field
``bundle``, so the answer says nothing of the filesystem (the reason goes to the log).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from geo_service.bundle import CityBundle, load_bundle
from geo_service.errors import GeoServiceError, InputError, ValidationFailed
from geo_service.jobs.worker import reload_generation, reload_key
from geo_service.web.context import EXTENSION, get_store
from geo_service.web.security import access, audit, setting
from geo_service.web.validation import bounded_text, parse_json_body

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Setting: the pid of the gunicorn master (`geo_service.web.serve`) that reloads the city itself.
MASTER_PID = "RELOAD_MASTER_PID"
ASKED_EXT = "geo_service.bundle_asked_master"
GENERATION_EXT = "geo_service.bundle_generation"
ROOT_EXT = "geo_service.bundle_root"
FAILED_EXT = "geo_service.bundle_failed_target"
_reload_lock = threading.Lock()


class ReloadBusy(GeoServiceError):
    """A reload is already running (409)."""

    status = 409
    title = "Reload in progress"


class BundleRejected(GeoServiceError):
    """The new bundle failed to load; the old one stays in service (422)."""

    status = 422
    title = "Bundle rejected"


#: The one answer to every bundle path refused, whatever the reason.
REFUSED_PATH = ("bundle: no city bundle this service may load there; give the absolute path of a bundle "
                "folder under the service's BUNDLE_ROOT (the current bundle stays in service)")


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
            msg = "the new bundle failed to load; the old one stays in service (the reason is in the service's log)"
            raise BundleRejected(msg) from exc
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
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if request.content_length:
            body = parse_json_body(max_depth=2, max_bytes=4096)
            path = bounded_text(body.get("bundle"), "bundle", max_len=1024, required=False)
        if path is not None:
            path = str(allowed_bundle_path(app, path))
        try:
            old, new = reload_bundle(app, path)
        except BundleRejected as exc:
            if path is None:
                raise
            raise BundleRejected(REFUSED_PATH, field="bundle") from exc
    except GeoServiceError:
        audit("reload", record_type="bundle", record_id=None, outcome="refused")
        raise
    gen = _publish(app, str(app.config["BUNDLE"]))
    audit("reload", record_type="bundle", record_id=str(new.manifest.get("bundle_version")))
    answer = jsonify(status="reloaded", previous=_brief(old), current=_brief(new), generation=gen)
    # Under `serve` the master loads it once and forks workers that share it: asked once the
    # answer is sent, when the view's unit of work (the generation recorded) has committed.
    answer.call_on_close(lambda: _ask_master(app))
    return answer


def bundle_root(app: Flask) -> Path | None:
    """The folder every bundle loaded by name must be under (resolved); None: none may be."""
    root = setting("BUNDLE_ROOT", app) or app.extensions.get(ROOT_EXT)
    return Path(root).resolve() if root else None


def allowed_bundle_path(app: Flask, text: str) -> Path:
    """``text`` as a bundle path this service may load, or `BundleRejected` (422, field ``bundle``).

    Absolute, without ``..``, resolving (links followed) to a folder under `bundle_root`.
    Every refusal is the same problem; why goes to the log only.
    """
    why = None
    try:
        asked = Path(text)
        root = bundle_root(app)
        if not asked.is_absolute() or ".." in asked.parts:
            why = "not an absolute path without '..'"
        elif root is None:
            why = "no BUNDLE_ROOT (and no bundle served at start to take it from)"
        elif not asked.resolve().is_relative_to(root):
            why = f"not under BUNDLE_ROOT {root}"
        elif not asked.resolve().is_dir():
            why = "not a folder"
    except (OSError, ValueError, RuntimeError) as exc:  # NUL bytes, link loops, unreadable
        why = f"unusable path ({type(exc).__name__})"
    if why is not None:
        logger.warning("reload refused: the bundle path asked is %s", why)
        raise BundleRejected(REFUSED_PATH, field="bundle")
    return asked


def _target(path: str | None) -> Path | None:
    """The folder ``path`` (a link, usually) points to now; None when it points nowhere."""
    if not path:
        return None
    try:
        return Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None


# -- the other workers -------------------------------------------------------------------

def _group(app: Flask) -> str | None:
    """This instance's reload group (``RELOAD_GROUP``; None: the shared record)."""
    return setting("RELOAD_GROUP", app) or None


def _read_meta(app: Flask) -> tuple[int, str | None]:
    return reload_generation(get_store(app), _group(app))


def _publish(app: Flask, path: str) -> int:
    gen = _read_meta(app)[0] + 1
    get_store(app).set_meta(reload_key(_group(app)), json.dumps({"generation": gen, "path": path}))
    app.extensions[GENERATION_EXT] = gen
    return gen


def warm_reload(app: Flask) -> None:
    """Open the store and remember the reload generation now (the server does this before
    taking requests, in the master before workers fork)."""
    app.extensions[GENERATION_EXT] = _read_meta(app)[0]


def init_reload(app: Flask) -> None:
    """Remember the reload generation at start; poll for reloads made by other processes and
    for the bundle's link changing (a rebuild)."""
    # The generation at start is read on the first poll, so start-up does not open the store.
    app.extensions[GENERATION_EXT] = None
    if app.config.get("BUNDLE"):
        app.extensions[ROOT_EXT] = str(Path(app.config["BUNDLE"]).absolute().parent)
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
        if _link_moved(app):
            return
        try:
            gen, path = _read_meta(app)
        except Exception:  # noqa: BLE001 - the store being down must not fail requests
            logger.exception("cannot read the reload generation")
            return
        if app.extensions.get(GENERATION_EXT) is None:
            app.extensions[GENERATION_EXT] = gen
            return
        if gen > app.extensions[GENERATION_EXT] and path and not _reload_lock.locked():
            if _ask_master(app):
                app.extensions[GENERATION_EXT] = gen  # asked once; new workers replace this one
            else:
                _start_background(app, path, gen)


def _link_moved(app: Flask) -> bool:
    """Start loading the bundle's new target when its link was repointed (by a build); say so."""
    path = app.config.get("BUNDLE")
    target, city = _target(path), app.extensions.get(EXTENSION)
    if target is None or city is None or target == city.path or str(target) == app.extensions.get(FAILED_EXT):
        return False
    if app.extensions.get(ASKED_EXT) == str(target):
        return True
    if _ask_master(app):
        app.extensions[ASKED_EXT] = str(target)
    elif not _reload_lock.locked():
        logger.info("%s now points to %s: loading it", path, target.name)
        _start_background(app, str(path), None)
    return True


def _ask_master(app: Flask) -> bool:
    """Under `geo_service.web.serve`: ask the gunicorn master (SIGHUP) to load the bundle in
    service; it forks new workers that share it. False when this process is not such a worker."""
    master = app.config.get(MASTER_PID)
    if not master or os.getppid() != master:
        return False
    logger.info("worker %d: asking the master (%d) to load the bundle in service", os.getpid(), master)
    os.kill(master, signal.SIGHUP)
    return True


def _start_background(app: Flask, path: str, gen: int | None) -> None:
    threading.Thread(target=_background_reload, args=(app, path, gen), daemon=True, name="bundle-reload").start()


def _background_reload(app: Flask, path: str, gen: int | None) -> None:
    target = _target(path)
    try:
        reload_bundle(app, path)
    except ReloadBusy:
        return
    except GeoServiceError as exc:
        # do not retry a bundle that fails to load (until the link or the generation moves on)
        app.extensions[FAILED_EXT] = str(target)
        logger.error("reload to generation %s (%s) failed: %s", gen, path, exc.user_message)
    if gen is not None:
        app.extensions[GENERATION_EXT] = gen


def catch_up(app: Flask) -> None:
    """In a worker just forked from the master: load the bundle in service now, when it is not
    the one the master loaded at start (a reload or a rebuild happened since).

    The bundle in service is the one the last reload recorded in the store (when newer than
    the master's generation), else the configured one, its link followed as it points now.
    Runs before the worker takes requests (gunicorn's ``post_fork``), so a respawned worker
    never answers with an older city than its siblings.
    """
    path = app.config.get("BUNDLE")
    gen = None
    try:
        gen, recorded = _read_meta(app)
    except Exception:  # noqa: BLE001 - the store being down must not stop the worker
        logger.exception("cannot read the reload generation; serving the configured bundle")
    else:
        if recorded and gen > (app.extensions.get(GENERATION_EXT) or 0):
            path = recorded
    target, city = _target(path), app.extensions.get(EXTENSION)
    if path and (city is None or target != city.path):
        try:
            reload_bundle(app, path)
        except GeoServiceError as exc:
            logger.error("worker %d keeps the bundle loaded at start: %s", os.getpid(), exc.user_message)
    if gen is not None:
        app.extensions[GENERATION_EXT] = gen
