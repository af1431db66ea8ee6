"""Reload and process faults: /admin/reload refuses any bundle path outside BUNDLE_ROOT with one
answer that reveals nothing, a moved bundle keeps answering, workers follow the bundle's link, a
respawned gunicorn worker serves the current bundle, each instance has its own control socket,
and a full disk answers 503 while everything kept stays readable."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from geo_service import create_app
from geo_service.ingest.build import BuildOptions, build_city
from geo_service.web.context import EXTENSION, get_store
from geo_service.web.serve import control_socket, gunicorn_options
from tests.conftest import TWO_PRECINCTS


def _app(bundle: Path, db: Path, **config: Any) -> Flask:
    return create_app({"BUNDLE": str(bundle), "TESTING": True, "DATABASE_URL": f"sqlite:///{db}",
                       "BUNDLE_POLL_SECONDS": 0, **config})


def _token(app: Flask, role: str) -> dict[str, str]:
    _, token = get_store(app).create_credential(name=f"t-{role}", role=role, kind="user_token", subject=f"{role}-1")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def build(tiny_osm: Path, write_precincts: Callable[..., Path],
          write_roster: Callable[..., Path]) -> Callable[..., Path]:
    """Build the tiny city as ``city`` into ``out`` (a link to a new version)."""
    precincts, roster = write_precincts(TWO_PRECINCTS, name="p.geojson"), write_roster(name="r.csv")

    def _build(out: Path, city: str) -> Path:
        build_city(BuildOptions(osm=tiny_osm, out=out, precincts=precincts, roster=roster, city=city))
        return out

    return _build


# -- /admin/reload refusals ------------------------------------------------------------------

def test_reload_paths_outside_the_root_all_get_the_same_answer(build: Callable[..., Path], tmp_path: Path) -> None:
    root = tmp_path / "bundles"
    served = build(root / "live", "tiny")
    other = build(root / "other", "tiny-other")
    outside = build(tmp_path / "elsewhere" / "b", "outside")
    (root / "escape").symlink_to(outside)  # under the root by name, outside once resolved
    (root / "notes.txt").write_text("a file, not a folder")
    (root / "empty").mkdir()
    app = _app(served, tmp_path / "gs.db")
    admin, client = _token(app, "admin"), app.test_client()
    refused = {
        "outside the root": str(outside),
        "outside, by a link": str(root / "escape"),
        "with ..": f"{root}/live/../other",
        "relative": "bundles/other",
        "relative to the root": "other",
        "absent": str(root / "missing"),
        "a file": str(root / "notes.txt"),
        "a folder with no bundle": str(root / "empty"),
        "the root itself": str(root),
        "/etc": "/etc",
    }
    answers = {}
    for why, path in refused.items():
        r = client.post("/admin/reload", json={"bundle": path}, headers=admin)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", (why, r.status_code)
        answers[why] = r.get_data(as_text=True)
    assert len(set(answers.values())) == 1, answers  # one answer, whatever the reason
    doc = json.loads(next(iter(answers.values())))
    assert doc["field"] == "bundle" and doc["title"] == "Bundle rejected"
    text = doc["detail"].lower()
    assert str(tmp_path) not in text and "/" not in text.replace("/admin", "")
    assert not any(word in text for word in ("exist", "directory", "not found", "no such", "permission"))
    assert app.extensions[EXTENSION].manifest["city"] == "tiny"  # still serving
    r = client.post("/admin/reload", json={"bundle": str(other)}, headers=admin)
    assert r.status_code == 200 and r.json["current"]["city"] == "tiny-other"
    assert str(tmp_path) not in r.get_data(as_text=True)
    outcomes = [a["outcome"] for a in get_store(app).audit_records() if a["action"] == "reload"]
    assert outcomes == ["refused"] * len(refused) + ["ok"]


def test_bundle_root_setting_narrows_what_may_be_loaded(build: Callable[..., Path], tmp_path: Path) -> None:
    served = build(tmp_path / "srv" / "live", "tiny")
    beside = build(tmp_path / "srv" / "beside", "beside")
    allowed = build(tmp_path / "approved" / "b", "approved")
    app = _app(served, tmp_path / "gs.db", BUNDLE_ROOT=str(tmp_path / "approved"))
    admin, client = _token(app, "admin"), app.test_client()
    assert client.post("/admin/reload", json={"bundle": str(beside)}, headers=admin).status_code == 422
    r = client.post("/admin/reload", json={"bundle": str(allowed)}, headers=admin)
    assert r.status_code == 200 and r.json["current"]["city"] == "approved"
    assert client.post("/admin/reload", headers=admin).status_code == 200  # the configured one, now `allowed`


# -- the folder moves, the link moves ------------------------------------------------------

def test_a_moved_bundle_still_answers_workload_and_siting(built_tiny: Path, tmp_path: Path) -> None:
    app = _app(built_tiny, tmp_path / "gs.db")
    planner, client = _token(app, "planner"), app.test_client()
    shutil.move(built_tiny.resolve(), tmp_path / "moved")
    built_tiny.unlink()
    r = client.get("/api/v1/workload", headers=planner)
    assert r.status_code == 200, r.json
    assert {p["precinct_id"] for p in r.json["precincts"]} == {"P-01", "P-02"}
    r = client.post("/api/v1/siting/solve", json={"model": "mclp", "minutes": 2, "p": 1, "existing": "none"},
                    headers=planner)
    assert r.status_code == 201, r.json


def test_workers_follow_the_link_to_a_rebuilt_bundle(build: Callable[..., Path], tmp_path: Path) -> None:
    live = build(tmp_path / "live", "first")
    app = _app(live, tmp_path / "gs.db", BUNDLE_POLL_SECONDS=0.05)
    client = app.test_client()
    assert client.get("/readyz").json["city"] == "first"
    build(live, "second")
    deadline = time.monotonic() + 20
    while client.get("/readyz").json["city"] != "second":
        assert time.monotonic() < deadline, "the worker never followed the link"
        time.sleep(0.05)


# -- gunicorn: a respawned worker, control sockets -----------------------------------------

def test_each_instance_has_its_own_control_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  built_tiny: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    a, b = control_socket(None, "127.0.0.1", 8001), control_socket(None, "127.0.0.1", 8002)
    assert a is not None and b is not None and a != b and Path(a).parent == tmp_path
    assert control_socket("none", "127.0.0.1", 8001) is None
    assert control_socket("/run/gs/a.ctl", "127.0.0.1", 8001) == "/run/gs/a.ctl"
    app = _app(built_tiny, tmp_path / "gs.db", CONTROL_SOCKET="none")
    opts = gunicorn_options(app, host="127.0.0.1", port=8001, workers=1, threads=1)
    assert opts["control_socket_disable"] is True and callable(opts["post_fork"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(port: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


@pytest.fixture()
def serving(tmp_path: Path) -> Iterator[Callable[[Path, int], subprocess.Popen[bytes]]]:
    """Start `geo-service serve` instances (one worker, no reload poll); stop them at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    (tmp_path / "run").mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_RUNTIME_DIR": str(tmp_path / "run"),
           "GEO_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'gs.db'}", "GEO_SERVICE_BUNDLE_POLL_SECONDS": "0",
           "GEO_SERVICE_JOBS_WORKER": "external"}  # no embedded jobs worker: the master's children are gunicorn's

    def _start(bundle: Path, port: int) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(bundle),
                                 "--port", str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_respawned_worker_serves_the_current_bundle(build: Callable[..., Path], tmp_path: Path,
                                                      serving: Callable[[Path, int], subprocess.Popen[bytes]]) -> None:
    live = build(tmp_path / "live", "first")
    port_a, port_b = _free_port(), _free_port()
    master = serving(live, port_a)
    serving(live, port_b)
    assert _ready(port_a)["city"] == "first" and _ready(port_b)["city"] == "first"
    expected = sorted(f"geo-service-127.0.0.1-{p}.ctl" for p in (port_a, port_b))  # one each
    deadline = time.monotonic() + 20  # the arbiter opens its socket in a thread of its own
    while sorted(p.name for p in (tmp_path / "run").iterdir()) != expected:
        assert time.monotonic() < deadline, sorted((tmp_path / "run").iterdir())
        time.sleep(0.05)
    build(live, "second")  # the link now points to a new version; the poll is off
    assert _ready(port_a)["city"] == "first"
    (worker,) = _workers(master.pid)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not (_workers(master.pid) and _workers(master.pid) != [worker]):
        assert time.monotonic() < deadline, (tmp_path / f"serve-{port_a}.log").read_text()
        time.sleep(0.05)
    assert _ready(port_a)["city"] == "second"  # the first answer of the new worker
    assert master.poll() is None


# -- a full disk -----------------------------------------------------------------------------

@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only; the test skips, saying why, where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=False,
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (root and CAP_SYS_ADMIN needed): {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_answers_503_and_keeps_what_was_kept(built_tiny: Path, small_disk: Path) -> None:
    app = _app(built_tiny, small_disk / "gs.db")
    admin, client = _token(app, "admin"), app.test_client()
    kept = [client.post("/admin/keys", json={"name": f"kept {i}", "role": "planner", "kind": "user_token",
                                             "subject": f"PL-{i}"}, headers=admin).json["id"] for i in range(3)]
    filler = _fill(small_disk)
    statuses = []
    for i in range(200):  # SQLite reuses the free pages of its files first: write until they are used up
        r = client.post("/admin/keys", json={"name": f"late {i}", "role": "planner", "kind": "user_token",
                                             "subject": f"PL-L{i}"}, headers=admin)
        statuses.append(r.status_code)
        if r.status_code == 201:
            kept.append(r.json["id"])
        else:
            break
    assert statuses[-1] == 503 and set(statuses[:-1]) <= {201}, statuses
    assert r.mimetype == "application/problem+json" and r.json["title"] == "Storage unavailable"
    assert "full or read-only" in r.json["detail"] and r.headers["Retry-After"] == "60"
    listed = client.get("/admin/keys", headers=admin)
    assert listed.status_code == 200
    assert set(kept) <= {k["id"] for k in listed.json["keys"]}  # nothing kept is lost
    filler.unlink()  # space again: writes work again
    r = client.post("/admin/keys", json={"name": "after", "role": "planner", "kind": "user_token",
                                         "subject": "PL-A"}, headers=admin)
    assert r.status_code == 201, r.json
    get_store(app).engine.dispose()


def test_a_read_only_disk_answers_503(built_tiny: Path, small_disk: Path) -> None:
    app = _app(built_tiny, small_disk / "gs.db")
    admin, client = _token(app, "admin"), app.test_client()
    first = client.post("/admin/keys", json={"name": "kept", "role": "planner", "kind": "user_token",
                                             "subject": "PL-1"}, headers=admin).json["id"]
    get_store(app).engine.dispose()  # a disk busy with open files cannot be remounted read-only
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True, timeout=30)
    r = client.post("/admin/keys", json={"name": "refused", "role": "planner", "kind": "user_token",
                                         "subject": "PL-2"}, headers=admin)
    assert r.status_code == 503 and r.json["title"] == "Storage unavailable", (r.status_code, r.json)
    # SQLite cannot open a WAL database on a read-only disk at all: reads are a 503 too, not a 500
    assert client.get("/admin/keys", headers=admin).status_code in (200, 503)
    get_store(app).engine.dispose()
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True, timeout=30)
    listed = client.get("/admin/keys", headers=admin)
    assert listed.status_code == 200 and first in {k["id"] for k in listed.json["keys"]}
    assert "refused" not in {k["name"] for k in listed.json["keys"]}
    get_store(app).engine.dispose()


# -- headers gunicorn would trust from a local proxy ------------------------------------------

def test_a_script_name_header_does_not_reach_the_pages(build: Callable[..., Path], tmp_path: Path,
                                                       serving: Callable[[Path, int], subprocess.Popen[bytes]]) -> None:
    """gunicorn takes a ``SCRIPT_NAME`` request header from 127.0.0.1 as the app's mount point,
    so any local client could put text into every link of a public page. `serve` trusts no
    forwarding address (the app's own proxy setting does that job), so the header is dropped."""
    port = _free_port()
    serving(build(tmp_path / "live", "first"), port)
    _ready(port)
    for path in ("/zz49zz/", "/zz49zz/precincts/map"):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"SCRIPT_NAME": "/zz49zz"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            assert exc.code == 404  # /zz49zz/... is no page of ours: not a mount point
        assert "zz49zz" not in body.replace(path, "")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"SCRIPT_NAME": "/zz49zz"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert "zz49zz" not in resp.read().decode("utf-8", "replace")
