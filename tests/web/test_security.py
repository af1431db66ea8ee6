"""Access rules, credentials, links, rate limits, headers, hardening and bundle reload."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify

from geo_service.errors import InputError, LinkRefused
from geo_service.web.context import get_store
from geo_service.web.security import (
    access,
    assert_every_route_declares_access,
    current_principal,
    load_plan,
    load_plan_by_link,
    require_precinct,
    sign_link,
    verify_link,
)
from geo_service.web.validation import parse_json_body
from tests.conftest import TWO_PRECINCTS

ROLE_ENDPOINTS = ("public", "external_system", "inspector", "planner", "admin")


def _sample_blueprint() -> Blueprint:
    bp = Blueprint("t", __name__, url_prefix="/t")
    for role in ROLE_ENDPOINTS:
        def view(role: str = role) -> Any:
            p = current_principal()
            return jsonify(role=role, principal=p.label, kind=p.kind)

        bp.add_url_rule(f"/{role}", f"ep_{role}", access(role)(view))

    @bp.get("/precinct/<pid>")
    @access("inspector")
    def precinct(pid: str) -> Any:
        require_precinct(pid)
        return jsonify(precinct=pid)

    @bp.get("/plans/<plan_id>")
    @access("inspector")
    def plan(plan_id: str) -> Any:
        return jsonify(load_plan(plan_id).body)

    @bp.get("/r/<token>")
    @access("public")
    def route_page(token: str) -> Any:
        return jsonify(load_plan_by_link(token).body)

    @bp.post("/echo")
    @access("public")
    def echo() -> Any:
        return jsonify(parse_json_body(max_depth=5, max_bytes=1000))

    return bp


def secure_app(bundle: Path, tmp_path: Path, **config: Any) -> Flask:
    from geo_service import create_app

    cfg = {"BUNDLE": str(bundle), "TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'gs.db'}",
           "BUNDLE_POLL_SECONDS": 0, **config}
    app = create_app(cfg)
    app.register_blueprint(_sample_blueprint())
    return app


@pytest.fixture()
def sapp(built_tiny: Path, tmp_path: Path) -> Flask:
    return secure_app(built_tiny, tmp_path)


@pytest.fixture()
def keys(sapp: Flask) -> dict[str, str]:
    store = get_store(sapp)
    return {
        "external_system": store.create_credential(name="ext", role="external_system")[1],
        "inspector": store.create_credential(name="UI-1", role="inspector", kind="user_token", subject="UI-1",
                                             precinct_ids=["P-01"])[1],
        "planner": store.create_credential(name="pl", role="planner", kind="user_token", subject="PL-1")[1],
        "admin": store.create_credential(name="adm", role="admin", kind="user_token", subject="AD-1")[1],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- roles -------------------------------------------------------------------------------

EXPECTED = {  # endpoint role -> status for anonymous, external_system, inspector, planner, admin
    "public": (200, 200, 200, 200, 200),
    "external_system": (401, 200, 403, 403, 200),
    "inspector": (401, 403, 200, 200, 200),
    "planner": (401, 403, 403, 200, 200),
    "admin": (401, 403, 403, 403, 200),
}


def test_each_role_against_each_endpoint(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    got = {}
    for endpoint in ROLE_ENDPOINTS:
        row = [client.get(f"/t/{endpoint}").status_code]
        for who in ("external_system", "inspector", "planner", "admin"):
            headers = {"X-API-Key": keys[who]} if who == "external_system" else bearer(keys[who])
            row.append(client.get(f"/t/{endpoint}", headers=headers).status_code)
        got[endpoint] = tuple(row)
    assert got == EXPECTED
    refused = [r for r in get_store(sapp).audit_records() if r["outcome"] == "denied:role"]
    assert len(refused) == sum(s == 403 for row in EXPECTED.values() for s in row)


def test_401_carries_www_authenticate_and_problem_json(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    r = client.get("/t/inspector")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    for headers in (bearer("gsk_" + "x" * 43), {"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": ""}):
        r = client.get("/t/public", headers=headers)  # a bad key is never taken for no key
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        assert "Traceback" not in r.get_data(as_text=True)


def test_revoked_key_is_refused(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    cid, token = get_store(sapp).create_credential(name="gone", role="external_system")
    assert client.get("/t/external_system", headers={"X-API-Key": token}).status_code == 200
    r = client.delete(f"/admin/keys/{cid}", headers=bearer(keys["admin"]))
    assert r.status_code == 200 and r.json["revoked_at"]
    assert client.get("/t/external_system", headers={"X-API-Key": token}).status_code == 401


def test_tokens_never_reach_the_log(sapp: Flask, keys: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = sapp.test_client()
    client.get("/t/admin?addr=Абая+150", headers=bearer(keys["inspector"]))
    client.get("/t/public", headers=bearer("secret-looking-token"))
    assert keys["inspector"] not in caplog.text and "secret-looking-token" not in caplog.text
    assert "Абая" not in caplog.text


# -- admin keys --------------------------------------------------------------------------

def test_admin_creates_lists_and_revokes_keys(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    adm = bearer(keys["admin"])
    r = client.post("/admin/keys", json={"name": "UI-2 phone", "role": "inspector", "kind": "user_token",
                                         "subject": "UI-2", "precinct_ids": ["P-02"], "expires_in": 3600},
                    headers=adm)
    assert r.status_code == 201, r.json
    token = r.json["token"]
    assert client.get("/t/precinct/P-02", headers=bearer(token)).status_code == 200
    listed = client.get("/admin/keys", headers=adm).json["keys"]
    assert r.json["id"] in {k["id"] for k in listed}
    text = str(listed)
    assert token not in text and "key_hash" not in text
    assert client.get("/admin/keys", headers=bearer(keys["planner"])).status_code == 403
    assert client.get("/admin/keys").status_code == 401
    bad = [{"name": "x", "role": "root"}, {"role": "planner"}, {"name": "x", "role": "planner", "expires_in": "1d"},
           {"name": "x", "role": "inspector"}, [1, 2]]
    for body in bad:
        r = client.post("/admin/keys", json=body, headers=adm)
        assert r.status_code == 400, body
    r = client.post("/admin/keys", json={"name": "x", "role": "inspector", "precinct_ids": ["P-99"]}, headers=adm)
    assert r.status_code == 422
    assert client.delete("/admin/keys/k_unknown", headers=adm).status_code == 404


# -- precincts, plans, links -------------------------------------------------------------

def test_cross_precinct_access_is_refused_and_audited(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    assert client.get("/t/precinct/P-01", headers=bearer(keys["inspector"])).status_code == 200
    r = client.get("/t/precinct/P-02", headers=bearer(keys["inspector"]))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    rec = get_store(sapp).audit_records()[-1]
    assert rec["principal"] == "user:UI-1" and rec["record_id"] == "P-02" and rec["outcome"] == "denied:precinct"
    assert rec["remote_addr"] == "127.0.0.1"
    assert client.get("/t/precinct/P-02", headers=bearer(keys["planner"])).status_code == 200


def test_plans_are_read_only_by_their_inspector_and_planners(sapp: Flask, keys: dict[str, str]) -> None:
    store = get_store(sapp)
    mine = store.save_plan(precinct_id="P-01", inspector_id="UI-1", created_by="user:PL-1", body={"stops": [1]})
    other = store.save_plan(precinct_id="P-02", inspector_id="UI-2", created_by="user:PL-1", body={"stops": [2]})
    colleague = store.save_plan(precinct_id="P-01", inspector_id="UI-9", created_by="user:PL-1", body={})
    client = sapp.test_client()
    insp, plan = bearer(keys["inspector"]), bearer(keys["planner"])
    assert client.get(f"/t/plans/{mine}", headers=insp).json == {"stops": [1]}
    assert client.get(f"/t/plans/{other}", headers=insp).status_code == 403
    assert client.get(f"/t/plans/{colleague}", headers=insp).status_code == 403
    assert client.get(f"/t/plans/{other}", headers=plan).status_code == 200
    assert client.get("/t/plans/pl_nothing", headers=plan).status_code == 404
    assert client.get(f"/t/plans/{mine}", headers={"X-API-Key": keys["external_system"]}).status_code == 403
    outcomes = [(r["principal"], r["record_id"], r["outcome"]) for r in store.audit_records()
                if r["record_type"] == "plan"]
    assert outcomes == [("user:UI-1", mine, "ok"), ("user:UI-1", other, "denied"),
                        ("user:UI-1", colleague, "denied"), ("user:PL-1", other, "ok"),
                        ("user:PL-1", "pl_nothing", "not_found")]


def test_route_links(sapp: Flask, keys: dict[str, str]) -> None:
    """A link is a random token kept hashed in the store (no plan id, nothing personal in it);
    a damaged, expired or revoked one is refused."""
    store = get_store(sapp)
    pid = store.save_plan(precinct_id="P-01", inspector_id="UI-1", created_by="x", body={"stops": [3]})
    client = sapp.test_client()
    with sapp.test_request_context(headers=bearer(keys["planner"])):
        token = sign_link(pid, 60)
        assert verify_link(token) == pid
        expired = sign_link(pid, 1)
        with pytest.raises(InputError, match="expires_in"):
            sign_link(pid, 10 * 86400)
    assert "UI-1" not in token and "P-01" not in token and pid not in token
    assert client.get(f"/t/r/{token}").json == {"stops": [3]}
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/t/r/{tampered}").status_code == 403
    import datetime as dt

    from geo_service import clock

    with clock.frozen_at(clock.now() + dt.timedelta(seconds=2)):  # the clock two seconds on
        with sapp.app_context(), pytest.raises(LinkRefused, match="expired"):
            verify_link(expired)
        r = client.get(f"/t/r/{expired}")
        assert r.status_code == 403 and "expired" in r.json["detail"]
        assert client.get(f"/t/r/{token}").status_code == 200
    store.revoke_link(token.split(".")[0])
    r = client.get(f"/t/r/{token}")
    assert r.status_code == 403 and "revoked" in r.json["detail"]


# -- rate limits -------------------------------------------------------------------------

def test_rate_limit_gives_429_with_retry_after(built_tiny: Path, tmp_path: Path) -> None:
    app = secure_app(built_tiny, tmp_path, RATELIMIT_PUBLIC="3/minute", RATELIMIT_EXTERNAL="5/minute")
    client = app.test_client()
    codes = [client.get("/t/public").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/t/public")
    assert r.mimetype == "application/problem+json" and 1 <= int(r.headers["Retry-After"]) <= 60
    # another client address and a key have their own counters; probes are exempt
    assert client.get("/t/public", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    _, tok = get_store(app).create_credential(name="k", role="external_system", rate_limit="2/minute")
    assert [client.get("/t/public", headers={"X-API-Key": tok}).status_code for _ in range(3)] == [200, 200, 429]
    assert all(client.get("/readyz").status_code == 200 for _ in range(5))


def test_rate_limit_in_redis_is_shared_by_two_apps(built_tiny: Path, tmp_path: Path) -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    cfg = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_PUBLIC": "2/minute"}
    a = secure_app(built_tiny, tmp_path, **cfg)
    b = secure_app(built_tiny, tmp_path, **cfg)  # a second "worker" on the same counters
    ip = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    codes = [a.test_client().get("/t/public", environ_base=ip).status_code,
             b.test_client().get("/t/public", environ_base=ip).status_code,
             a.test_client().get("/t/public", environ_base=ip).status_code]
    assert codes == [200, 200, 429]


# -- headers, default deny, hardening ----------------------------------------------------

def test_security_headers_on_every_response(sapp: Flask, keys: dict[str, str]) -> None:
    client = sapp.test_client()
    for r in (client.get("/t/public"), client.get("/nowhere"), client.get("/t/admin"),
              client.get("/t/planner", headers=bearer(keys["planner"]))):
        h = r.headers
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert "tile.openstreetmap.org" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer"
        assert h["X-Frame-Options"] == "DENY" and "geolocation=(self)" in h["Permissions-Policy"]
    assert client.get("/t/planner", headers=bearer(keys["planner"])).headers["Cache-Control"] == "no-store"


def test_undeclared_views_are_refused_and_found(built_tiny: Path, tmp_path: Path) -> None:
    app = secure_app(built_tiny, tmp_path)
    assert_every_route_declares_access(app)  # sample, admin and health routes all declare
    app.add_url_rule("/forgotten", "forgotten", lambda: "personal data")
    with pytest.raises(AssertionError, match="/forgotten"):
        assert_every_route_declares_access(app)
    r = app.test_client().get("/forgotten")
    assert r.status_code == 403 and b"personal" not in r.data


@pytest.mark.parametrize(("data", "ctype"), [
    (b"[1, 2]", "application/json"),
    (b'{"a": ', "application/json"),
    (b'{"a": NaN}', "application/json"),
    (b'{"a": ' * 10 + b"1" + b"}" * 10, "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a": "' + b"x" * 2000 + b'"}', "application/json"),
    (b'{"a": 1}', "text/plain"),
    (b"", "application/json"),
    (b'{"a": "__import__(\'os\').system(\'x\')"}', "application/x-www-form-urlencoded"),
])
def test_bad_json_bodies_are_400(sapp: Flask, data: bytes, ctype: str) -> None:
    r = sapp.test_client().post("/t/echo", data=data, content_type=ctype)
    expected = (400, 413) if ctype == "application/json" else (415,)
    assert r.status_code in expected and r.mimetype == "application/problem+json"


def test_good_json_body_and_expressions_stay_text(sapp: Flask) -> None:
    body = {"q": "__import__('os').system('touch /tmp/pwned')", "n": [1, {"b": 2}]}
    r = sapp.test_client().post("/t/echo", json=body)
    assert r.status_code == 200 and r.json == body


# -- reload ------------------------------------------------------------------------------

@pytest.fixture()
def second_bundle(tmp_path: Path, tiny_osm: Path, write_precincts: Callable[..., Path],
                  write_roster: Callable[..., Path]) -> Path:
    from geo_service.ingest.build import BuildOptions, build_city

    out = tmp_path / "bundle2"
    build_city(BuildOptions(osm=tiny_osm, out=out, precincts=write_precincts(TWO_PRECINCTS, name="p2.geojson"),
                            roster=write_roster(name="r2.csv"), city="tiny-two"))
    return out


def test_reload_swaps_the_city_without_failed_requests(sapp: Flask, keys: dict[str, str], second_bundle: Path,
                                                       tmp_path: Path) -> None:
    stop = threading.Event()
    seen: list[tuple[int, str | None]] = []

    def hammer() -> None:
        c = sapp.test_client()
        while not stop.is_set():
            r = c.get("/readyz")
            seen.append((r.status_code, (r.json or {}).get("city")))

    # another process on the same database, polling for reloads
    other = secure_app(Path(sapp.config["BUNDLE"]), tmp_path, BUNDLE_POLL_SECONDS=0.05)
    assert other.test_client().get("/readyz").json["city"] == "tiny"
    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.2)
        adm = bearer(keys["admin"])
        client = sapp.test_client()
        r = client.post("/admin/reload", json={"bundle": str(tmp_path / "missing")}, headers=adm)
        assert r.status_code == 422 and r.mimetype == "application/problem+json"
        assert client.post("/admin/reload", json={"bundle": str(second_bundle)},
                           headers=bearer(keys["planner"])).status_code == 403
        r = client.post("/admin/reload", json={"bundle": str(second_bundle)}, headers=adm)
        assert r.status_code == 200, r.json
        assert r.json["previous"]["city"] == "tiny" and r.json["current"]["city"] == "tiny-two"
        time.sleep(0.2)
    finally:
        stop.set()
        t.join()
    assert len(seen) > 10 and all(code == 200 for code, _ in seen)
    cities = [c for _, c in seen]
    assert cities[0] == "tiny" and cities[-1] == "tiny-two"
    assert cities.index("tiny-two") > len(cities) - 1 - cities[::-1].index("tiny")  # one switch, never back
    deadline = time.monotonic() + 10
    oc = other.test_client()
    while oc.get("/readyz").json["city"] != "tiny-two":
        assert time.monotonic() < deadline, "the other process never picked up the reload"
        time.sleep(0.05)
    outcomes = [r["outcome"] for r in get_store(sapp).audit_records() if r["action"] == "reload"]
    assert outcomes == ["refused", "ok"]
