"""Planners' kept results (siting runs, balance proposals), and long work as queued jobs.

`start_job` keeps a ``queued`` result and its job (`geo_service.jobs`: the inputs in the
store, the job's id alone on the broker), commits them with the request's audit row, hands
the id to the broker and answers ``202 Accepted`` with ``Location: /api/v1/jobs/<id>``; with a
wait it polls the job for at most that long and gives the caller the result when it ended.
``GET /api/v1/jobs/<id>`` answers 202 (with ``Retry-After``) while the job is queued or
running, with its progress, and 200 once it is done (the result in ``result``), failed
(``detail``) or cancelled; ``DELETE`` cancels it. A job is readable by the roles its endpoint
admits, and an inspector's only when it concerns the inspector's own precinct and self.

A siting result's map layers (`siting_map_layers`, `start_siting_map`): the kept areas of the
result for the loaded bundle, or the ``siting_map`` job making them, found through a pointer
in the store's ``meta`` table (`geo_service.siting.map_layers.pointer_name`), so the map page
and ``POST /api/v1/siting/results/<id>/map`` share one job.

Where jobs run (``JOBS_BROKER``, ``JOBS_WORKER``): an app alone (tests, embedding) runs them
in a thread of its own on ``memory://``; `geo_service.web.serve` forks one worker process on
the SQLite queue file when no broker is set; with a broker (``redis://``) `geo-service worker`
processes run them, on any machine sharing the database and the broker.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from geo_service import clock
from geo_service.access import role_admits
from geo_service.errors import Forbidden, GeoServiceError, InputError, NotFound, NotReady, Unauthorized
from geo_service.jobs import JobQueue, Runtime, Timing
from geo_service.jobs.table import FINAL
from geo_service.jsonsafe import json_safe
from geo_service.siting import map_layers
from geo_service.store import Store
from geo_service.unit import checkpoint
from geo_service.web.context import EXTENSION, get_store
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access, audit, current_principal, setting

logger = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")

QUEUE_EXT = "geo_service.jobs"
#: A legacy result still "running" after this long, with no job row, was lost.
JOB_LOST_AFTER = dt.timedelta(minutes=30)
#: Jobs queued or running in the store (every instance's); one more is refused (503) until one
#: ends, so a burst of calls cannot queue hours of work.
MAX_PENDING_JOBS = 16
#: A waited-for job that no worker has taken after this many seconds is answered 202 at once.
WAIT_START_S = 2.0
#: The scope a credential limited to scopes needs to read a job of each kind, and the URL of its result.
KIND_SCOPE = {"balance": "workload", "siting": "siting", "schedule": "routes", "siting_map": "siting"}
RESULT_URL = {"balance": "/api/v1/workload/balance", "siting": "/api/v1/siting/results"}


class JobsBusy(GeoServiceError):
    """As many jobs as `MAX_PENDING_JOBS` are queued or running."""

    status = 503
    title = "Too many jobs"


def job_queue(app: Flask | None = None) -> JobQueue:
    """This app's job queue (made on first use): see the module docstring for where jobs run."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get(QUEUE_EXT)
    if queue is not None:
        return queue
    store = real_store(app)
    broker, mode = setting("JOBS_BROKER", app), setting("JOBS_WORKER", app)
    if not broker and mode in (None, "", "thread"):
        broker, mode = "memory://", "thread"
    queue = JobQueue(store, broker or None, timing=Timing.from_settings(dict(app.config)))
    if mode == "thread":
        def city() -> Any:
            loaded = app.extensions.get(EXTENSION)
            if loaded is None:
                raise NotReady("no city bundle is loaded")
            return loaded

        queue.start_thread(Runtime(store=store, city=city, tz=str(setting("TIME_ZONE", app) or "UTC")))
    app.extensions[QUEUE_EXT] = queue
    return queue


def real_store(app: Flask) -> Store:
    """The app's store itself (`geo_service.web.security.LazyStore` opened), for a worker to keep."""
    store = get_store(app)
    opened = getattr(store, "opened", None)
    return opened() if opened is not None else store


def pending_jobs(app: Flask | None = None) -> int:
    """Jobs queued or running in the store."""
    return job_queue(app).jobs.count_open()


def keep(kind: str, body: dict[str, Any], *, location: str) -> Response:
    """Keep a result (audited) and answer 201 with its id and a Location of ``location/<id>``."""
    body = json_safe(body)
    rid = get_store().save_result(kind=kind, created_by=current_principal().label, body=body)
    audit(f"{kind}.create", record_type=kind, record_id=rid, outcome="ok")
    resp = jsonify({"id": rid, **body})
    resp.status_code = 201
    resp.headers["Location"] = f"{location}/{rid}"
    return resp


def start_job(kind: str, inputs: dict[str, Any], *, role: str, precinct_ids: tuple[str, ...] = (),
              subject: str | None = None, wait_s: float = 0.0) -> tuple[Response, dict[str, Any] | None]:
    """Queue a job of ``kind`` on ``inputs`` (kept in the store, never on the broker); answer
    202 with its Location. With ``wait_s`` > 0, wait that long for it: the kept result
    (``status`` done, failed or cancelled) when it ended in time, else None.
    `JobsBusy` (503) when `MAX_PENDING_JOBS` are queued or running already."""
    queue = job_queue()
    open_jobs = queue.jobs.count_open()
    if open_jobs >= MAX_PENDING_JOBS:
        msg = (f"{open_jobs} jobs are queued or running; try again when one has ended, "
               "or with a smaller input")
        raise JobsBusy(msg)
    store = get_store()
    principal = current_principal()
    rid = store.save_result(kind=kind, created_by=principal.label, body={"status": "queued"})
    queue.jobs.create(rid, kind=kind, created_by=principal.label, role=role, inputs=json_safe(inputs),
                      precinct_ids=precinct_ids, subject=subject)
    audit(f"{kind}.start", record_type=kind, record_id=rid, outcome="ok")
    checkpoint()  # the job, its result and its audit row committed before a worker can take it
    queue.enqueue(rid)
    final = _wait(queue, rid, wait_s) if wait_s > 0 else None
    resp = jsonify({"id": rid, "kind": kind, "status": "queued", "links": _links(kind, rid)})
    resp.status_code = 202
    resp.headers["Location"] = f"/api/v1/jobs/{rid}"
    resp.headers["Retry-After"] = "5"
    return resp, final


def _wait(queue: JobQueue, rid: str, wait_s: float) -> dict[str, Any] | None:
    """The job's kept result once it ended within ``wait_s``; None when it did not, or when no
    worker took it within `WAIT_START_S` (the workers are busy: the request stops holding on)."""
    t0 = time.monotonic()
    deadline, start_by, pause = t0 + wait_s, t0 + min(wait_s, WAIT_START_S), 0.02
    while True:
        job = queue.jobs.get(rid)
        if job is not None and job["status"] in FINAL:
            kept = get_store().get_result(rid)
            if kept is not None and kept["body"].get("status") not in ("queued", "running"):
                return {**kept, "job": job}
        now = time.monotonic()
        left = deadline - now
        if left <= 0 or (job is not None and job["status"] == "queued" and now > start_by):
            return None
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, 0.25)


def finished(resp: Response, final: dict[str, Any] | None) -> dict[str, Any] | None:
    """The body of a job that ended within its wait and is done; `InputError` (400) with its
    reason when it failed; None when it is still running or was cancelled (answer ``resp``)."""
    if final is None:
        return None
    body, status = dict(final["body"]), final["job"]["status"]
    if status == "failed":
        raise InputError(str(body.get("detail") or "the job failed"), **dict(body.get("problem") or {}))
    if body.get("status") == status:
        body.pop("status")
    return body if status == "done" else None


def _links(kind: str, rid: str) -> dict[str, str]:
    links = {"self": f"/api/v1/jobs/{rid}"}
    if kind in RESULT_URL:
        links["result"] = f"{RESULT_URL[kind]}/{rid}"
    return links


def authorize_job(job: dict[str, Any], *, action: str) -> None:
    """Refuse (audited) a caller whose role, scope or precincts do not cover the job."""
    p = current_principal()
    if p.kind == "anonymous":
        audit("access", record_type="job", record_id=job["id"], outcome="denied:anonymous")
        raise Unauthorized("a job needs an API key or a token (Authorization: Bearer …)")
    scope = KIND_SCOPE.get(job["kind"], "workload")
    ok = role_admits(job["role"], p.role) and p.has_scope(scope)
    if ok and p.role == "inspector":
        ok = bool(job["precinct_ids"]) and set(job["precinct_ids"]) <= set(p.precinct_ids) and (
            job["subject"] is None or job["subject"] == p.id)
    audit(action, record_type="job", record_id=job["id"], outcome="ok" if ok else "denied")
    if not ok:
        raise Forbidden("this job belongs to another role, precinct or inspector")


def _load(job_id: str, *, action: str) -> tuple[JobQueue, dict[str, Any]]:
    queue = job_queue()
    job = queue.jobs.get(job_id)
    if job is None:
        audit(action, record_type="job", record_id=str(job_id)[:40], outcome="not_found")
        raise NotFound("no job with this id")
    authorize_job(job, action=action)
    return queue, job


def _job_doc(job: dict[str, Any]) -> Response:
    doc = {k: job[k] for k in ("id", "kind", "status", "progress", "attempts", "max_attempts", "cancel_requested",
                               "created_at", "started_at", "finished_at")}
    doc["links"] = _links(job["kind"], job["id"])
    if job["status"] in ("failed", "cancelled") or (job["status"] == "queued" and job["detail"]):
        doc["detail"] = job["detail"]
    if job["status"] == "done":
        kept = get_store().get_result(job["id"])
        result = dict((kept or {"body": {}})["body"])
        if result.get("status") == "done":
            result.pop("status")
        doc["result"] = result
    resp = jsonify(doc)
    if job["status"] in ("queued", "running"):
        resp.status_code = 202
        resp.headers["Retry-After"] = "5"
    return resp


@bp.get("/<job_id>")
@access("public")  # the job's own role, scope and precincts are checked by `authorize_job`
def get_job(job_id: str) -> Response:
    """A job's status and progress (202 while it is queued or running), its result when done."""
    return _job_doc(_load(job_id, action="job.read")[1])


@bp.delete("/<job_id>")
@access("public")  # see get_job
def cancel_job(job_id: str) -> Response:
    """Cancel a job: a queued one at once, a running one at its next progress point."""
    queue, job = _load(job_id, action="job.cancel")
    if queue.jobs.cancel(job["id"]) == "cancelled" and job["status"] == "queued":
        get_store().update_result(job["id"], body={"status": "cancelled", "detail": "cancelled before it started"})
    return _job_doc(queue.jobs.get(job["id"]) or job)


def fetch(kind: str, result_id: str) -> Response:
    """A kept result of ``kind``; 404 problem when there is none. One still queued or running
    answers 202 (with Retry-After and its progress); a legacy one "running" for longer than
    `JOB_LOST_AFTER` with no job behind it was lost."""
    kept = get_store().get_result(result_id, kind=kind)
    if kept is None:
        msg = f"no {kind} result with this id"
        raise NotFound(msg)
    body = kept["body"]
    job = job_queue().jobs.get(kept["id"]) if body.get("status") in ("queued", "running") else None
    if job is not None:
        authorize_job(job, action=f"{kind}.read")
        body = {"status": job["status"], "progress": job["progress"]}
        if job["status"] in FINAL:  # ended between the two reads
            body = get_store().get_result(result_id, kind=kind)["body"]  # type: ignore[index]
    elif body.get("status") == "running" and (
            clock.now() - dt.datetime.fromisoformat(kept["created_at"]) > JOB_LOST_AFTER):
        body = {"status": "failed", "detail": "the job was lost (the service stopped while it ran); start it again"}
    resp = jsonify({"id": kept["id"], "created_at": kept["created_at"], **body})
    if body.get("status") in ("queued", "running"):
        resp.status_code = 202
        resp.headers["Retry-After"] = "5"
    return resp


# -- a siting result's map layers ---------------------------------------------------------------
@dataclass(frozen=True)
class MapLayers:
    """Where a siting result's map layers stand for the city loaded now: ``kept`` (``areas``),
    ``pending`` (``job``: queued or running), ``ended`` (``job`` failed or was cancelled) or
    ``none``; ``ref`` names the kept layers' result (a map job's id, or the siting job's)."""

    state: str
    key: str
    ref: str | None = None
    areas: list[Any] | None = None
    job: dict[str, Any] | None = None


def siting_map_layers(result_id: str, result: dict[str, Any], city: Any) -> MapLayers:
    """The kept layers (or the job making them) of a siting result, for its key (the result,
    the bundle version, its minutes, mode and posts): a reload makes older layers stale."""
    key = map_layers.layers_key(result_id, result, str(city.manifest.get("bundle_version") or "0"))
    store = get_store()
    raw = store.get_meta(map_layers.pointer_name(result_id, key))
    ref = json.loads(raw).get("id") if raw else None
    kept = store.get_result(ref, kind=map_layers.KIND) if isinstance(ref, str) else None
    if kept is None:
        return MapLayers("none", key)
    body = kept["body"]
    if body.get("status") == "done" and body.get("key") == key:
        return MapLayers("kept", key, ref, areas=list(body.get("areas") or []))
    job = job_queue().jobs.get(kept["id"])
    if job is not None and job["status"] in ("queued", "running"):
        return MapLayers("pending", key, ref, job=job)
    return MapLayers("ended" if job is not None else "none", key, ref, job=job)


def start_siting_map(result_id: str, layers: MapLayers) -> dict[str, Any]:
    """Queue a job making a siting result's map layers (the store's pointer for their key names
    it at once, so the next request finds it); the job's row."""
    resp, _ = start_job(map_layers.KIND, {"result_id": result_id}, role="planner")
    job_id = str(resp.json["id"])  # type: ignore[index]
    get_store().set_meta(map_layers.pointer_name(result_id, layers.key), json.dumps({"id": job_id}))
    checkpoint()
    return job_queue().jobs.get(job_id) or {"id": job_id, "kind": map_layers.KIND, "status": "queued"}


def job_links(kind: str, rid: str) -> dict[str, str]:
    """A job's links (``self``; ``result`` when its kind has a result URL)."""
    return _links(kind, rid)


def openapi_paths() -> dict[str, Any]:
    """The job endpoints for the OpenAPI document."""
    errors = problems(401, 403, 404, 429)
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    job = {"type": "object", "required": ["id", "kind", "status"], "properties": {
        "id": {"type": "string"}, "kind": {"enum": sorted(KIND_SCOPE)},
        "status": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
        "progress": {"type": ["object", "null"], "properties": {
            "step": {"type": "string"}, "done": {"type": "integer"}, "total": {"type": ["integer", "null"]}}},
        "attempts": {"type": "integer"}, "detail": {"type": ["string", "null"]}, "result": {"type": "object"},
        "links": {"type": "object"}}}
    content = {"application/json": {"schema": job}}
    param = [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}]
    return {"/api/v1/jobs/{job_id}": {
        "get": {"summary": "a queued job: status, progress, its result once done (202 while queued or running)",
                "security": auth, "parameters": param,
                "responses": {"200": {"description": "ended", "content": content},
                              "202": {"description": "queued or running", "content": content}, **errors}},
        "delete": {"summary": "cancel a job (a running one stops at its next progress point)",
                   "security": auth, "parameters": param,
                   "responses": {"200": {"description": "cancelled or ended", "content": content},
                                 "202": {"description": "running; asked to stop", "content": content}, **errors}}}}
