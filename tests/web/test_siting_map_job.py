"""The siting map's service areas as a queued job (issue 20): kept layers are served without
drawing them again, a big result answers a waiting page and then the map, a small one is drawn
in the request, the job is refused to callers the result is refused to, a bundle reload makes
kept layers stale, and a siting job keeps its map's layers so the first open is instant.

The isochrones are counted (and, where a test must catch a job before it ends, held back
until released) by wrapping `geo_service.siting.map_layers.isochrone`; everything else is
the service's own code: the app's job thread, the store, the pages.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from geo_service.siting import map_layers
from geo_service.web.context import EXTENSION, STORE_EXT

SOLVE = {"model": "mclp", "minutes": 2, "p": 2, "existing": "none"}


class Counted:
    """`isochrone` counted; with ``hold`` set, each call waits until `release`."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls, self.gate, self.hold = real, 0, threading.Event(), False
        self.lock = threading.Lock()

    def __call__(self, *a: Any, **k: Any) -> Any:
        if self.hold:
            assert self.gate.wait(60), "never released"
        with self.lock:
            self.calls += 1
        return self.real(*a, **k)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture()
def iso(monkeypatch) -> Counted:
    counted = Counted(map_layers.isochrone)
    monkeypatch.setattr(map_layers, "isochrone", counted)
    return counted


def _token(app, role: str, *, scopes: tuple[str, ...] = (), precincts: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}-{scopes}", role=role, kind="user_token",
                                                          subject=f"s-{role}", scopes=scopes, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


def _result(client, planner: dict[str, str]) -> tuple[str, int]:
    resp = client.post("/api/v1/siting/solve", json=SOLVE, headers=planner)
    assert resp.status_code == 201, resp.json
    return resp.json["id"], len(resp.json["chosen"]) + len(resp.json["existing"])


def _until_done(client, url: str, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (resp := client.get(url, headers=headers)).status_code == 202:
        assert time.monotonic() < deadline, resp.json
        time.sleep(0.05)
    assert resp.status_code == 200, resp.json
    return resp.json


def _job_url(page: str) -> str:
    return page.split('data-job="', 1)[1].split('"', 1)[0]


def test_a_small_result_is_drawn_in_the_request(app, client, iso) -> None:
    planner = _token(app, "planner")
    rid, posts = _result(client, planner)
    assert map_layers.work(app.extensions[STORE_EXT].get_result(rid)["body"]) == 2 * posts <= 240
    page = client.get(f"/siting/{rid}/map?lang=ru", headers=planner)
    assert page.status_code == 200 and "gs-siting-page" in page.text and 'lang="ru"' in page.text
    assert iso.calls == posts  # drawn here, one area per post
    store = app.extensions[STORE_EXT]
    version = app.extensions[EXTENSION].manifest["bundle_version"]
    key = map_layers.layers_key(rid, store.get_result(rid)["body"], version)
    assert store.get_meta(map_layers.pointer_name(rid, key)) is None  # no job queued, nothing kept
    assert client.get(f"/siting/{rid}/map", headers=planner).status_code == 200 and iso.calls == 2 * posts


def test_a_big_result_waits_for_its_job_then_serves_the_kept_layers(app, client, iso, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)  # every result is "big"
    planner = _token(app, "planner")
    rid, posts = _result(client, planner)
    iso.hold = True
    first = client.get(f"/siting/{rid}/map?lang=kk", headers=planner)
    assert first.status_code == 202 and first.headers["Cache-Control"] == "no-store"
    assert 'lang="kk"' in first.text and "Орналастыру картасы салынуда" in first.text
    assert "/app/siting.js\"" in first.text and rid not in first.text  # the job's URL, not the result's
    job_url = _job_url(first.text)
    assert job_url.startswith("/api/v1/jobs/rs_")
    # A second open, and the API, find the same job while it is queued or running.
    again = client.get(f"/siting/{rid}/map?lang=en", headers=planner)
    assert again.status_code == 202 and _job_url(again.text) == job_url
    api = client.post(f"/api/v1/siting/results/{rid}/map", headers=planner)
    assert api.status_code == 202 and api.headers["Location"] == job_url, api.json
    assert api.json["kind"] == "siting_map" and api.json["links"]["map"] == f"/siting/{rid}/map"
    iso.release()
    done = _until_done(client, job_url, planner)
    assert done["status"] == "done" and done["kind"] == "siting_map"
    assert len(done["result"]["areas"]) == posts and done["result"]["siting_id"] == rid
    assert done["progress"] == {"step": "areas", "done": posts, "total": posts}
    assert iso.calls == posts
    # Kept: the page and the API answer at once, drawing nothing again.
    for lang in ("en", "ru"):
        page = client.get(f"/siting/{rid}/map?lang={lang}", headers=planner)
        assert page.status_code == 200 and "gs-siting-page" in page.text
    kept = client.post(f"/api/v1/siting/results/{rid}/map", headers=planner)
    assert kept.status_code == 200 and kept.json["status"] == "done" and kept.json["id"] == job_url.rsplit("/", 1)[1]
    assert iso.calls == posts


def test_the_map_job_is_refused_to_whom_the_result_is_refused(app, client, iso, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)
    planner = _token(app, "planner")
    inspector = _token(app, "inspector", precincts=("P-01",))
    routes_only = _token(app, "planner", scopes=("routes",))
    rid, _ = _result(client, planner)
    assert client.get(f"/api/v1/siting/results/{rid}", headers=inspector).status_code == 403
    assert client.post(f"/api/v1/siting/results/{rid}/map", headers=inspector).status_code == 403
    assert client.get(f"/siting/{rid}/map", headers=inspector).status_code == 403
    assert client.post(f"/api/v1/siting/results/{rid}/map").status_code == 401
    assert client.post("/api/v1/siting/results/rs_000000000000000000000000/map", headers=planner).status_code == 404
    job_url = client.post(f"/api/v1/siting/results/{rid}/map", headers=planner).headers["Location"]
    result_code = client.get(f"/api/v1/siting/results/{rid}", headers=routes_only).status_code
    assert result_code == 403 and client.get(job_url, headers=routes_only).status_code == result_code
    assert client.get(job_url, headers=inspector).status_code == 403
    assert client.delete(job_url, headers=inspector).status_code == 403
    assert _until_done(client, job_url, planner)["status"] == "done"
    records = app.extensions[STORE_EXT].audit_records()
    audit = [(r["action"], r["outcome"]) for r in records if r["record_type"] == "job"]
    assert ("job.read", "denied") in audit


def test_a_bundle_reload_makes_kept_layers_stale(app, client, iso, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)
    planner = _token(app, "planner")
    rid, posts = _result(client, planner)
    job_url = client.post(f"/api/v1/siting/results/{rid}/map", headers=planner).headers["Location"]
    assert _until_done(client, job_url, planner)["status"] == "done"
    assert client.get(f"/siting/{rid}/map", headers=planner).status_code == 200 and iso.calls == posts
    city = app.extensions[EXTENSION]
    monkeypatch.setitem(city.manifest, "bundle_version", str(city.manifest["bundle_version"]) + "-reloaded")
    stale = client.get(f"/siting/{rid}/map", headers=planner)
    assert stale.status_code == 202 and _job_url(stale.text) != job_url  # a new job for the new bundle
    assert _until_done(client, _job_url(stale.text), planner)["result"]["bundle_version"].endswith("-reloaded")
    assert client.get(f"/siting/{rid}/map", headers=planner).status_code == 200 and iso.calls == 2 * posts
    # With the inline threshold back, a stale set is drawn in the request rather than served.
    monkeypatch.setitem(city.manifest, "bundle_version", "again")
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 240)
    assert client.get(f"/siting/{rid}/map", headers=planner).status_code == 200 and iso.calls == 3 * posts


def test_a_siting_job_keeps_its_maps_layers(app, client, iso, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SITING_MAP_INLINE_WORK", 1)
    planner = _token(app, "planner")
    iso.hold = True
    resp = client.post("/api/v1/siting/solve", json={**SOLVE, "wait": False}, headers=planner)
    assert resp.status_code == 202, resp.json
    rid, job_url = resp.json["id"], resp.headers["Location"]
    deadline = time.monotonic() + 60
    while (page := client.get(f"/siting/{rid}/map?lang=en", headers=planner)).status_code == 202 \
            and "still being solved" not in page.text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert page.status_code == 202 and _job_url(page.text) == job_url  # the waiting page follows the siting job
    iso.release()
    done = _until_done(client, job_url, planner)
    posts = len(done["result"]["chosen"]) + len(done["result"]["existing"])
    assert iso.calls == posts
    page = client.get(f"/siting/{rid}/map?lang=en", headers=planner)
    assert page.status_code == 200 and "gs-siting-page" in page.text and iso.calls == posts  # drawn by the job
