"""Route page links, revocation across instances, scopes, visit marks of one plan, and the
access log without link tokens (issue 23)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from geo_service.web.access_log import install_link_mask, mask_links
from geo_service.web.context import STORE_EXT, appeal_store
from tests.conftest import grid_latlon

DAY = "2026-11-20"
NOW = "2026-11-20T12:00:00+05:00"


def _app(bundle: Path, db: Path):
    from geo_service import create_app

    return create_app({"BUNDLE": str(bundle), "TESTING": True, "DATABASE_URL": f"sqlite:///{db}",
                       "BUNDLE_POLL_SECONDS": 0})


@pytest.fixture()
def app(built_tiny: Path, tmp_path: Path):
    return _app(built_tiny, tmp_path / "gs.db")


def _token(app, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = (),
           scopes: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    cid, token = app.extensions[STORE_EXT].create_credential(
        name=f"t-{role}-{subject}", role=role, kind="user_token" if subject else "api_key", subject=subject,
        precinct_ids=precincts, scopes=scopes)
    return cid, {"Authorization": f"Bearer {token}"}


def _plan(client, headers: dict[str, str], *, k0: int = 0) -> str:
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.2 + 0.3 * (k + k0))[0],
               "lon": grid_latlon(0.5 + k, 0.2 + 0.3 * (k + k0))[1], "minutes": 10, "priority": 2}
              for k in range(2)]
    resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": DAY, "visits": visits,
                                                    "include_appeals": False}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


@pytest.mark.now(NOW)
def test_a_link_is_revocable_on_its_own_by_its_creator_or_an_admin(app) -> None:
    client = app.test_client()
    _, ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    _, colleague = _token(app, "inspector", subject="UI-9", precincts=("P-01",))
    _, admin = _token(app, "admin")
    pid = _plan(client, ui1)
    made = client.post(f"/api/v1/routes/plans/{pid}/link", headers=ui1)
    assert made.status_code == 201
    link_id, url = made.json["id"], made.json["url"]
    assert url == f"/r/{url.split('/r/')[1]}" and url.split("/r/")[1].startswith(link_id + ".")
    assert client.get(url).status_code == 200
    listed = client.get(f"/api/v1/routes/plans/{pid}/links", headers=ui1).json["links"]
    assert [x["id"] for x in listed] == [link_id] and url.split("/r/")[1] not in str(listed)
    assert client.delete(f"/api/v1/routes/links/{link_id}", headers=colleague).status_code == 403
    assert client.delete("/api/v1/routes/links/rl_0000000000000000", headers=ui1).status_code == 404
    assert client.get(url).status_code == 200  # a refused revocation changes nothing
    gone = client.delete(f"/api/v1/routes/links/{link_id}", headers=ui1)
    assert gone.status_code == 200 and gone.json["revoked_at"]
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/stops/1/done").status_code == 403  # nor marks a visit
    other = client.post(f"/api/v1/routes/plans/{pid}/link", headers=ui1).json
    assert client.delete(f"/api/v1/routes/links/{other['id']}", headers=admin).status_code == 200
    assert client.get(other["url"]).status_code == 403
    outcomes = [(r["action"], r["outcome"]) for r in app.extensions[STORE_EXT].audit_records()
                if r["action"].startswith("link.") or r["action"] == "read_link"]
    assert ("link.revoke", "denied") in outcomes and ("link.revoke", "not_found") in outcomes
    assert ("read_link", "denied:revoked") in outcomes and outcomes.count(("link.create", "ok")) == 2


@pytest.mark.now(NOW)
def test_revocations_hold_on_the_next_request_of_another_instance(built_tiny: Path, tmp_path: Path) -> None:
    """Two instances on one database: a token revoked on one is refused by the other at once,
    and with it every link it made (it used to open plans for 24 h, and the token ~5 s)."""
    a, b = _app(built_tiny, tmp_path / "gs.db"), _app(built_tiny, tmp_path / "gs.db")
    ca, cb = a.test_client(), b.test_client()
    cid, ui1 = _token(a, "inspector", subject="UI-1", precincts=("P-01",))
    _, admin = _token(a, "admin")
    pid = _plan(ca, ui1)
    url = ca.post(f"/api/v1/routes/plans/{pid}/link", headers=ui1).json["url"]
    assert cb.get(f"/api/v1/routes/plans/{pid}", headers=ui1).status_code == 200
    assert cb.get(url).status_code == 200
    assert ca.delete(f"/admin/keys/{cid}", headers=admin).status_code == 200
    assert cb.get(f"/api/v1/routes/plans/{pid}", headers=ui1).status_code == 401
    assert cb.get(url).status_code == 403 and ca.get(url).status_code == 403


@pytest.mark.now(NOW)
def test_scopes_limit_a_credential_to_parts_of_the_api(app) -> None:
    client = app.test_client()
    body = {"items": [{"lat": 43.25, "lon": 76.9}]}
    _, lookup_key = _token(app, "external_system", scopes=("lookup",))
    _, batch_key = _token(app, "external_system", scopes=("lookup:batch",))
    _, routes_key = _token(app, "external_system", scopes=("routes",))
    assert client.post("/api/v1/lookup/batch", json=body, headers=lookup_key).status_code == 200
    refused = client.post("/api/v1/lookup/batch", json=body, headers=routes_key)
    assert refused.status_code == 403 and "scope lookup" in refused.json["detail"]
    assert client.post("/api/v1/lookup/batch", json=body, headers=batch_key).status_code == 403  # narrower
    assert client.get("/api/v1/lookup?lat=43.25&lon=76.9", headers=routes_key).status_code == 200  # public
    _, phone = _token(app, "inspector", subject="UI-1", precincts=("P-01",), scopes=("routes",))
    pid = _plan(client, phone)
    assert client.post(f"/api/v1/routes/plans/{pid}/link", headers=phone).status_code == 201  # pages bp, routes
    assert client.get(f"/routes/{pid}/map", headers=phone).status_code == 200
    assert client.get("/api/v1/appeals", headers=phone).status_code == 403
    _, admin = _token(app, "admin")
    bad = client.post("/admin/keys", json={"name": "x", "role": "external_system", "scopes": ["everything"]},
                      headers=admin)
    assert bad.status_code == 400 and "scope" in bad.json["detail"]
    denied = [r for r in app.extensions[STORE_EXT].audit_records() if r["outcome"] == "denied:scope"]
    assert len(denied) == 3


@pytest.mark.now(NOW)
def test_marks_belong_to_one_plans_visit(app) -> None:
    """A replanned day reusing visit id v0 for another person's visit does not show it made."""
    client = app.test_client()
    _, ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    first = _plan(client, ui1)
    assert client.post(f"/api/v1/routes/plans/{first}/visits/v0/done", headers=ui1).status_code == 200
    second = _plan(client, ui1, k0=1)  # same day, same ids, other places
    with app.test_request_context():
        kept = app.extensions[STORE_EXT].get_plan(second)
        made = appeal_store().done_in_plan(inspector_id="UI-1", due=kept.body["due"], plan_id=second)
    assert made == {}
    undone = client.delete(f"/api/v1/routes/plans/{second}/visits/v0/done", headers=ui1)
    assert undone.status_code == 200 and undone.json["done_at"] is None
    # The older plan's visit it made stays its own (marked again: still that plan's row), and its
    # mark does not reach the newer plan's visit.
    assert client.post(f"/api/v1/routes/plans/{first}/visits/v0/done", headers=ui1).status_code == 200
    with app.test_request_context():
        assert appeal_store().done_in_plan(inspector_id="UI-1", due=kept.body["due"], plan_id=second) == {}
        assert set(appeal_store().done_in_plan(inspector_id="UI-1", due={"v0": kept.body["due"]["v0"]},
                                               plan_id=first)) == {"v0"}


# -- the access log ---------------------------------------------------------------------------

TOKEN = "rl_0123456789abcdef.S3cretS3cretS3cretS3cretS3cretS3cretS3cre"


def test_mask_links() -> None:
    assert mask_links(f"GET /r/{TOKEN}/gpx HTTP/1.1") == "GET /r/rl_0123456789abcdef.***/gpx HTTP/1.1"
    assert mask_links("/r/eyJwbGFuIjoxfQ.c2lnbmF0dXJl?lang=ru") == "/r/***?lang=ru"
    assert mask_links("/api/v1/lookup") == "/api/v1/lookup"


def test_gunicorns_access_log_masks_link_tokens(tmp_path: Path) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    install_link_mask()
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", '%(h)s "%(r)s" %(U)s %(s)s %(B)s %(M)sms')
    log = Logger(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/r/{TOKEN}", "PATH_INFO": f"/r/{TOKEN}",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1", "QUERY_STRING": ""}
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    log.access(resp, SimpleNamespace(headers=[("Referer", f"https://x/r/{TOKEN}")]), environ, timedelta(seconds=0))
    for h in log.access_log.handlers:
        h.flush()
    line = (tmp_path / "access.log").read_text()
    assert "S3cret" not in line and line.count("/r/rl_0123456789abcdef.***") == 2, line


def test_werkzeugs_request_log_masks_link_tokens(app, caplog: pytest.LogCaptureFixture) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/r/{TOKEN}", timeout=10)
            except urllib.error.HTTPError as exc:
                assert exc.code in (403, 404)
            time.sleep(0.2)
    finally:
        server.shutdown()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert "/r/rl_0123456789abcdef.***" in text and "S3cret" not in text, text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_served_instance_never_logs_a_link_token(built_tiny: Path, tmp_path: Path) -> None:
    """`geo-service serve` (gunicorn, real workers): the access log holds the link id only."""
    port = _free_port()
    env = {**os.environ, "GEO_SERVICE_DATABASE_URL": f"sqlite:///{tmp_path / 'gs.db'}"}
    code = "import sys; from geo_service.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--bundle", str(built_tiny),
                             "--port", str(port), "--workers", "1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        for path in (f"/r/{TOKEN}", f"/r/{TOKEN}/gpx"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "/r/rl_0123456789abcdef.***" in out and "S3cret" not in out, out[-2000:]
