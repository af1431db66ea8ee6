"""Browser sign-in (#22): sessions from a token or a password, the cookie's flags, CSRF, the
sign-in redirect of pages, audit rows, the rate limit, and renewing an expired route link."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from geo_service import clock
from geo_service.web.access_log import mask_links
from geo_service.web.context import STORE_EXT
from geo_service.web.sessions import COOKIE, check_password, csrf_token, hash_password, safe_next, set_password
from tests.conftest import grid_latlon

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DAY = "2026-11-20"
NOW = "2026-11-20T08:00:00+05:00"


def _app(bundle: Path, db: Path, **more: Any) -> Any:
    from geo_service import create_app

    return create_app({"BUNDLE": str(bundle), "TESTING": True, "DATABASE_URL": f"sqlite:///{db}",
                       "BUNDLE_POLL_SECONDS": 0, **more})


@pytest.fixture()
def app(built_tiny: Path, tmp_path: Path) -> Any:
    return _app(built_tiny, tmp_path / "gs.db")


def _cred(app: Any, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = (),
          kind: str = "user_token", expires_in: float | None = None, name: str | None = None) -> tuple[str, str]:
    return app.extensions[STORE_EXT].create_credential(
        name=name or f"{role}-{subject}", role=role, kind=kind, subject=subject, precinct_ids=precincts,
        expires_in=expires_in)


def _form_csrf(page_text: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]*)"', page_text)
    assert m is not None, page_text[:400]
    return m.group(1)


def _sign_in(client: Any, *, token: str | None = None, login: str | None = None, password: str | None = None,
             next_path: str | None = None, headers: dict[str, str] | None = None) -> Any:
    q = f"?next={next_path}" if next_path else ""
    page = client.get(f"/sign-in{q}", headers=HTML)
    assert page.status_code == 200
    data = {"csrf_token": _form_csrf(page.text)}
    if token is not None:
        data["token"] = token
    if login is not None:
        data.update(login=login, password=password or "")
    return client.post(f"/sign-in{q}", data=data, headers={**HTML, **(headers or {})})


def _session_csrf(client: Any) -> str:
    """The signed-in browser's CSRF token, as its sign-out form carries it."""
    page = client.get("/sign-in", headers=HTML)
    return re.findall(r'name="csrf_token" value="([^"]*)"', page.text)[-1]


def _audit(app: Any, action: str) -> list[dict[str, Any]]:
    return [r for r in app.extensions[STORE_EXT].audit_records() if r["action"] == action]


def _plan(client: Any, headers: dict[str, str]) -> str:
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[0],
               "lon": grid_latlon(0.5 + k, 0.2 + 0.3 * k)[1], "minutes": 10, "priority": 2} for k in range(2)]
    resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": DAY, "visits": visits,
                                                    "include_appeals": False}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_a_planner_signs_in_with_a_token_and_opens_the_planner_pages(app: Any, tmp_path: Path) -> None:
    client = app.test_client()
    cid, token = _cred(app, "planner", subject="PL-1", name="Planner One")
    first = client.get("/workload/map?lang=kk", headers=HTML)
    assert first.status_code == 303
    assert first.headers["Location"] == "/sign-in?lang=kk&next=/workload/map%3Flang%3Dkk"
    assert client.get("/workload/map").status_code == 401  # no Accept: text/html: a script keeps the 401
    assert client.get("/workload/map", headers={"Accept": "*/*"}).json["status"] == 401
    signed = _sign_in(client, token=token, next_path="/workload/map")
    assert signed.status_code == 303 and signed.headers["Location"] == "/workload/map"
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}="))
    flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite"} <= flags and "secure" not in flags and "expires" not in flags
    assert "SameSite=Strict" in cookie and "Path=/;" in cookie + ";"
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40 and token not in cookie
    for path in ("/workload/map", "/workload/dashboard"):
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert "gs-si-bar" in page.text and "Planner One" in page.text and 'action="/sign-out"' in page.text
        assert page.headers["Cache-Control"] == "no-store" and "Cookie" in ",".join(page.headers.getlist("Vary"))
    # The session is kept only hashed: its id is nowhere in the database file.
    store = app.extensions[STORE_EXT]
    rows = [dict(r._mapping) for r in store.engine.connect().execute(select(store.tables["sessions"]))]
    assert [r["token_hash"] for r in rows] == [hashlib.sha256(value.encode()).hexdigest()]
    assert rows[0]["credential_id"] == cid
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("gs.db*"))
    assert value.encode() not in raw and token.encode() not in raw
    ok = _audit(app, "sign_in")
    assert [(r["outcome"], r["principal"]) for r in ok] == [("ok:token", "user:PL-1")]
    assert all(token not in str(r) and value not in str(r) for r in store.audit_records())


def test_the_cookie_is_secure_over_https_or_when_forced_and_lives_under_the_script_root(
        built_tiny: Path, tmp_path: Path) -> None:
    app = _app(built_tiny, tmp_path / "a.db")
    _, token = _cred(app, "planner", subject="PL-1")
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://gs.example", headers=HTML)
    resp = client.post("/sign-in", base_url="https://gs.example", headers=HTML,
                       data={"csrf_token": _form_csrf(page.text), "token": token})
    assert resp.status_code == 303
    assert "Secure" in next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    forced = _app(built_tiny, tmp_path / "b.db", SESSION_COOKIE_SECURE=True)
    _, token = _cred(forced, "planner", subject="PL-1")
    resp = _sign_in(forced.test_client(), token=token)
    assert "Secure" in next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    client = app.test_client()
    env = {"SCRIPT_NAME": "/gs"}
    page = client.get("/sign-in", environ_overrides=env, headers=HTML)
    assert 'action="/gs/sign-in?lang=ru"' in page.text
    _, token = _cred(app, "planner", subject="PL-3")
    resp = client.post("/sign-in?lang=ru", environ_overrides=env, headers=HTML,
                       data={"csrf_token": _form_csrf(page.text), "token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/gs/?lang=ru"
    assert "Path=/gs;" in next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith(COOKIE))


def test_api_keys_and_unknown_tokens_are_refused_and_audited(app: Any) -> None:
    client = app.test_client()
    _, key = _cred(app, "external_system", kind="api_key")
    refused = _sign_in(client, token=key)
    assert refused.status_code == 403 and "API" in refused.text and COOKIE not in str(refused.headers)
    unknown = _sign_in(client, token="gsu_" + "x" * 43)
    assert unknown.status_code == 401 and "gs-error-text" in unknown.text
    rows = _audit(app, "sign_in")
    assert [r["outcome"] for r in rows] == ["denied:api_key", "denied:unknown"]
    assert all(key not in str(r) and "xxxx" not in str(r) for r in rows)
    # A post without the form's own CSRF value (login CSRF) makes no session.
    bare = app.test_client().post("/sign-in", data={"token": key}, headers=HTML)
    assert bare.status_code == 400 and _audit(app, "sign_in")[-1]["outcome"] == "denied:csrf"


def test_a_password_set_by_an_admin_signs_in_by_subject(app: Any) -> None:
    cid, _ = _cred(app, "inspector", subject="UI-7", precincts=("P-01",), name="Inspector Seven")
    store = app.extensions[STORE_EXT]
    set_password(store, cid, "correct horse battery")
    stored = store.engine.connect().execute(select(store.tables["passwords"].c.hash)).scalar()
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert check_password("correct horse battery", stored) and not check_password("wrong", stored)
    assert hash_password("same") != hash_password("same")  # salted
    client = app.test_client()
    wrong = _sign_in(client, login="UI-7", password="nope")
    assert wrong.status_code == 401
    ok = _sign_in(client, login="UI-7", password="correct horse battery")
    assert ok.status_code == 303
    assert [r["outcome"] for r in _audit(app, "sign_in")] == ["denied:unknown", "ok:password"]
    assert all("horse" not in str(r) for r in store.audit_records())


def test_a_session_ends_with_its_ttl_and_never_outlives_its_credential(built_tiny: Path, tmp_path: Path) -> None:
    app = _app(built_tiny, tmp_path / "gs.db", SESSION_TTL=3600)
    store = app.extensions[STORE_EXT]
    with clock.frozen_at(NOW) as start:
        _, token = _cred(app, "planner", subject="PL-1")
        _, short = _cred(app, "planner", subject="PL-2", expires_in=600)
        client = app.test_client()
        assert _sign_in(client, token=token).status_code == 303
        assert _sign_in(app.test_client(), token=short).status_code == 303
        rows = {r.credential_id: r for r in store.engine.connect().execute(select(store.tables["sessions"]))}
        lives = sorted(round((clock.as_utc(r.expires_at) - start).total_seconds()) for r in rows.values())
        assert lives[0] <= 601 and 3599 <= lives[1] <= 3601
        assert client.get("/workload/dashboard", headers=HTML).status_code == 200
    with clock.frozen_at(start + timedelta(seconds=3700)):
        gone = client.get("/workload/dashboard", headers=HTML)
        assert gone.status_code == 303 and gone.headers["Location"].startswith("/sign-in")
        cleared = next(c for c in gone.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
        assert "Expires=Thu, 01 Jan 1970" in cleared


def test_revoking_the_credential_ends_the_session_at_the_next_request(app: Any) -> None:
    cid, token = _cred(app, "planner", subject="PL-1")
    client = app.test_client()
    _sign_in(client, token=token)
    assert client.get("/workload/dashboard", headers=HTML).status_code == 200
    assert client.get("/api/v1/workload").status_code == 200  # the API takes the cookie too
    app.extensions[STORE_EXT].revoke(cid)
    assert client.get("/workload/dashboard", headers=HTML).status_code == 303
    api = client.get("/api/v1/workload", headers=HTML)
    assert api.status_code == 401 and api.mimetype == "application/problem+json"


@pytest.mark.now(NOW)
def test_csrf_guards_every_write_the_cookie_authenticates(app: Any) -> None:
    _, token = _cred(app, "planner", subject="PL-1")
    _, ui1 = _cred(app, "inspector", subject="UI-1", precincts=("P-01",))
    bearer = {"Authorization": f"Bearer {ui1}"}
    client = app.test_client()
    _sign_in(client, token=token)
    pid = _plan(client, bearer)  # a header needs no CSRF token, cookie or not
    csrf = _session_csrf(client)
    url = f"/api/v1/routes/plans/{pid}/link"
    no_token = client.post(url)
    assert no_token.status_code == 403 and "CSRF" in no_token.json["detail"]
    wrong = client.post(url, headers={"X-CSRF-Token": csrf_token("another session")})
    assert wrong.status_code == 403
    cross = client.post(url, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403
    referer = client.post(url, headers={"X-CSRF-Token": csrf, "Referer": "http://evil.example/x"})
    assert referer.status_code == 403
    form = client.post(url, data={"csrf_token": "nope"}, headers=HTML)
    assert form.status_code == 403 and form.mimetype == "text/html" and "gs-error-text" in form.text
    assert client.post(url, headers={"X-CSRF-Token": csrf, "Origin": "http://localhost"}).status_code == 201
    assert client.post(url, headers={"X-CSRF-Token": csrf, "Origin": "null"}).status_code == 201
    assert client.post(url, data={"csrf_token": csrf}).status_code == 201
    assert len(_audit(app, "csrf")) == 5
    # Sign-out is a write too: without the token the session stays.
    assert client.post("/sign-out", headers=HTML).status_code == 403
    assert client.get("/workload/dashboard", headers=HTML).status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf}, headers=HTML)
    assert out.status_code == 303 and out.headers["Location"].startswith("/sign-in?")
    assert "Expires=Thu, 01 Jan 1970" in next(c for c in out.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    store = app.extensions[STORE_EXT]
    assert store.engine.connect().execute(select(store.tables["sessions"])).first() is None
    assert [r["outcome"] for r in _audit(app, "sign_out")] == ["ok"]
    client.set_cookie(COOKIE, "stolen-but-ended", domain="localhost")
    assert client.get("/workload/dashboard", headers=HTML).status_code == 303


@pytest.mark.parametrize("bad", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x",
                                 "javascript:alert(1)", "evil.example", "/%0d%0a", "/ x"])
def test_next_is_a_path_on_this_site_only(app: Any, bad: str) -> None:
    _, token = _cred(app, "planner", subject="PL-1")
    from urllib.parse import quote

    client = app.test_client()
    page = client.get(f"/sign-in?next={quote(bad, safe='')}", headers=HTML)
    assert "evil" not in page.text.split("<main", 1)[1].split("</form>", 1)[0].split("action=", 1)[1][:80]
    resp = client.post(f"/sign-in?next={quote(bad, safe='')}", headers=HTML,
                       data={"csrf_token": _form_csrf(page.text), "token": token})
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location == "/?lang=ru" or (bad == "/%0d%0a" and location == bad)
    assert safe_next(bad) in (None, "/%0d%0a")


def test_sign_in_posts_are_rate_limited_per_client_address(built_tiny: Path, tmp_path: Path) -> None:
    app = _app(built_tiny, tmp_path / "gs.db", SIGNIN_RATE_LIMIT="3/minute")
    client = app.test_client()
    codes = [_sign_in(client, token="gsu_wrong").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    elsewhere = app.test_client()
    page = elsewhere.get("/sign-in", headers=HTML, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    resp = elsewhere.post("/sign-in", headers=HTML, environ_base={"REMOTE_ADDR": "10.0.0.9"},
                          data={"csrf_token": _form_csrf(page.text), "token": "gsu_wrong"})
    assert resp.status_code == 401  # another address has its own count
    assert [r["outcome"] for r in _audit(app, "sign_in")][-2:] == ["denied:rate_limit", "denied:unknown"]


def test_a_role_too_low_gets_a_readable_page_and_a_header_wins_over_the_cookie(app: Any) -> None:
    _, inspector = _cred(app, "inspector", subject="UI-1", precincts=("P-01",))
    _, planner = _cred(app, "planner", subject="PL-1")
    client = app.test_client()
    _sign_in(client, token=inspector)
    low = client.get("/workload/map?lang=en", headers=HTML)
    assert low.status_code == 403 and low.mimetype == "text/html" and "Your role does not open" in low.text
    assert client.get("/api/v1/workload", headers=HTML).json["status"] == 403
    both = client.get("/workload/dashboard", headers={**HTML, "Authorization": f"Bearer {planner}"})
    assert both.status_code == 200 and "gs-si-bar" not in both.text
    bad = client.get("/workload/dashboard", headers={**HTML, "Authorization": "Bearer gsu_nope"})
    assert bad.status_code == 401  # a bad header is refused, never replaced by the cookie


def test_the_home_page_links_to_sign_in(app: Any) -> None:
    page = app.test_client().get("/?lang=kk", headers=HTML)
    assert 'href="/sign-in?lang=kk"' in page.text


# -- renewing an expired route link ------------------------------------------------------------


def _expired_link(app: Any) -> tuple[str, str, str, Any]:
    """A plan of UI-1, a link to it that has expired, and a client of nobody."""
    _, ui1 = _cred(app, "inspector", subject="UI-1", precincts=("P-01",))
    client = app.test_client()
    with clock.frozen_at("2026-11-20T08:00:00+05:00"):
        pid = _plan(client, {"Authorization": f"Bearer {ui1}"})
        made = client.post(f"/api/v1/routes/plans/{pid}/link", json={"expires_in": 600},
                           headers={"Authorization": f"Bearer {ui1}"})
    return pid, made.json["url"].split("/r/")[1], ui1, client


@pytest.mark.now("2026-11-20T09:00:00+05:00")
def test_the_inspector_renews_an_expired_link_from_the_page(app: Any) -> None:
    pid, token, ui1, client = _expired_link(app)
    page = client.get(f"/r/{token}?lang=en", headers=HTML)
    assert page.status_code == 403 and "Get a new link" in page.text
    assert f'action="/r/{token}/renew?lang=en"' in page.text
    anon = client.post(f"/r/{token}/renew?lang=en", data={"csrf_token": ""}, headers=HTML)
    assert anon.status_code == 303
    where = anon.headers["Location"]
    assert where.startswith("/sign-in?lang=en&next=/r/") and token.split(".")[1] not in mask_links(where)
    _sign_in(client, token=ui1, next_path=f"/r/{token}?lang=en")
    page = client.get(f"/r/{token}?lang=en", headers=HTML)
    csrf = _form_csrf(page.text.split('class="gs-renew"', 1)[1])
    assert csrf and "You are signed in" in page.text
    renewed = client.post(f"/r/{token}/renew?lang=en", data={"csrf_token": csrf}, headers=HTML)
    assert renewed.status_code == 303
    fresh = renewed.headers["Location"].split("/r/")[1].split("?")[0]
    assert fresh != token
    assert client.get(f"/r/{fresh}", headers=HTML).status_code == 200
    assert app.test_client().get(f"/r/{fresh}", headers=HTML).status_code == 200  # the link needs no cookie
    rows = _audit(app, "link.renew")
    assert [r["outcome"] for r in rows] == ["ok"] and rows[0]["record_id"].startswith(token.split(".")[0] + ">")
    assert all(token.split(".")[1] not in str(r) and fresh.split(".")[1] not in str(r)
               for r in app.extensions[STORE_EXT].audit_records())
    # Without the session's CSRF token nothing is made: back to the page (which carries the token).
    n = len(app.extensions[STORE_EXT].links_of_plan(pid))
    bounced = client.post(f"/r/{token}/renew?lang=en", data={"csrf_token": "forged"}, headers=HTML)
    assert bounced.status_code == 303 and bounced.headers["Location"] == f"/r/{token}?lang=en"
    assert len(app.extensions[STORE_EXT].links_of_plan(pid)) == n


@pytest.mark.now("2026-11-20T09:00:00+05:00")
def test_renewal_is_refused_to_others_and_for_revoked_or_unknown_links(app: Any) -> None:
    pid, token, _, _ = _expired_link(app)
    _, colleague = _cred(app, "inspector", subject="UI-9", precincts=("P-01",))
    _, planner = _cred(app, "planner", subject="PL-1")
    other = app.test_client()
    _sign_in(other, token=colleague)
    csrf = _session_csrf(other)
    refused = other.post(f"/r/{token}/renew", data={"csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 403 and "gs-error-text" in refused.text
    boss = app.test_client()
    _sign_in(boss, token=planner)
    ok = boss.post(f"/r/{token}/renew", data={"csrf_token": _session_csrf(boss)}, headers=HTML)
    assert ok.status_code == 303 and "/r/rl_" in ok.headers["Location"]
    store = app.extensions[STORE_EXT]
    live = ok.headers["Location"].split("/r/")[1].split("?")[0]
    again = boss.post(f"/r/{live}/renew", data={"csrf_token": _session_csrf(boss)}, headers=HTML)
    assert again.status_code == 303 and again.headers["Location"].startswith(f"/r/{live}?")  # live: nothing to renew
    store.revoke_link(token.split(".")[0])
    dead = boss.post(f"/r/{token}/renew?lang=en", data={"csrf_token": _session_csrf(boss)}, headers=HTML)
    assert dead.status_code == 403 and "cannot be renewed" in dead.text
    unknown = boss.post("/r/rl_0123456789abcdef.nopenopenope/renew", data={"csrf_token": _session_csrf(boss)},
                        headers=HTML)
    assert unknown.status_code == 404
    outcomes = [r["outcome"] for r in _audit(app, "link.renew")]
    assert outcomes == ["denied:403", "ok", "denied:revoked", "denied:unknown"]
    assert pid


def test_keys_password_sets_a_password_an_inspector_signs_in_with(app: Any, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from geo_service.cli import main
    from geo_service.errors import InputError

    url = f"sqlite:///{tmp_path / 'gs.db'}"
    cid, _ = _cred(app, "inspector", subject="UI-3", precincts=("P-01",), name="Inspector Three")
    key_id, _ = _cred(app, "external_system", kind="api_key")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["keys", "password", cid, "--password-stdin", "--database-url", url]) == 0
    said = capsys.readouterr().out
    assert "UI-3" in said and "secret" not in said
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(InputError):
        from geo_service.cli.keys import cli_set_password

        cli_set_password(cid, from_stdin=True, database_url=url)
    with pytest.raises(InputError, match="API key"):
        cli_set_password(key_id, database_url=url, read=lambda: "a long enough secret")
    assert _sign_in(app.test_client(), login="UI-3", password="a long enough secret").status_code == 303
    rows = [r for r in app.extensions[STORE_EXT].audit_records() if r["action"] == "set_password"]
    assert [(r["principal"], r["record_id"]) for r in rows] == [("cli", cid)]


def test_sessions_and_passwords_work_as_the_least_privileged_role_on_postgresql(
        capsys: pytest.CaptureFixture[str]) -> None:
    import secrets

    import sqlalchemy
    from flask import Flask
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from geo_service.cli import main
    from geo_service.store import Store
    from geo_service.web.sessions import create_session, end_session, open_session, password_credential
    from tests.conftest import pg_url

    base = pg_url()
    name, role = f"gs_si_{secrets.token_hex(4)}", f"gs_si_app_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        owner_url = make_url(base).set(database=name).render_as_string(hide_password=False)
        assert main(["db", "init", "--url", owner_url, "--app-role", role]) == 0
        out = capsys.readouterr().out
        app_url = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("DATABASE_URL="))
        store = Store(app_url, create=False)  # the app role: no DDL, the tables db init made and granted
        try:
            with Flask("t").app_context():
                cid, _ = store.create_credential(name="Planner", role="planner", kind="user_token", subject="PL-1")
                cred = store.get_credential(cid)
                sess, cookie = create_session(store, cred, method="token")
                assert open_session(store, cookie).id == sess.id
                set_password(store, cid, "a long enough secret")
                set_password(store, cid, "another long secret")  # replaced, not added
                assert password_credential(store, "PL-1", "another long secret").id == cid
                assert password_credential(store, "PL-1", "a long enough secret") is None
                store.revoke(cid)
                assert open_session(store, cookie) is None
                end_session(store, sess.id)
                with store.engine.connect() as conn:
                    assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 0
        finally:
            store.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_signing_in_again_ends_the_browsers_old_session(app: Any) -> None:
    _, first = _cred(app, "planner", subject="PL-1")
    _, second = _cred(app, "inspector", subject="UI-1", precincts=("P-01",))
    client = app.test_client()
    _sign_in(client, token=first)
    old = client.get_cookie(COOKIE).value
    assert "gs-token" not in client.get("/sign-in", headers=HTML).text  # signed in: sign out first, says the page
    again = client.post("/sign-in", headers=HTML,  # a post straight from an earlier copy of the form
                        data={"csrf_token": client.get_cookie("gs_signin").value, "token": second})
    assert again.status_code == 303 and client.get_cookie(COOKIE).value != old
    store = app.extensions[STORE_EXT]
    with store.engine.connect() as conn:
        assert len(list(conn.execute(select(store.tables["sessions"])))) == 1
    replay = app.test_client()
    replay.set_cookie(COOKIE, old, domain="localhost")
    assert replay.get("/workload/dashboard", headers=HTML).status_code == 303
