"""Every route in the URL map against every role: allowed or refused as it declares."""

from __future__ import annotations

import re

import pytest

from geo_service.access import role_admits
from geo_service.web.context import STORE_EXT
from geo_service.web.security import assert_every_route_declares_access

PRINCIPALS = ("public", "external_system", "inspector", "planner", "admin")


@pytest.fixture()
def headers(app) -> dict[str, dict[str, str]]:
    store = app.extensions[STORE_EXT]
    out: dict[str, dict[str, str]] = {"public": {}}
    _, key = store.create_credential(name="ext", role="external_system")
    out["external_system"] = {"X-API-Key": key}
    for role in ("inspector", "planner", "admin"):
        _, token = store.create_credential(name=role, role=role, kind="user_token", subject="UI-1",
                                           precinct_ids=["P-01"] if role == "inspector" else ())
        out[role] = {"Authorization": f"Bearer {token}"}
    return out


def _calls(app) -> list[tuple[str, str, str]]:
    calls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            calls.append((method, path, view.access_role))
    return calls


def test_every_route_declares_a_role(app) -> None:
    assert_every_route_declares_access(app)
    assert len(_calls(app)) >= 15


def test_each_role_against_each_endpoint(app, client, headers) -> None:
    checked = 0
    for method, path, role in _calls(app):
        for who in PRINCIPALS:
            kw = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            resp = client.open(path, method=method, headers=headers[who], **kw)
            allowed = role == "public" or (who != "public" and role_admits(role, who))
            if allowed:
                assert resp.status_code not in (401, 403), (method, path, who, resp.status_code, resp.get_json())
                assert resp.status_code < 500, (method, path, who, resp.get_data(as_text=True)[:300])
            else:
                expected = 401 if who == "public" else 403
                assert resp.status_code == expected, (method, path, who, resp.status_code)
                assert resp.content_type == "application/problem+json"
            checked += 1
    assert checked >= 75


def test_revoked_and_unknown_credentials(app, client) -> None:
    store = app.extensions[STORE_EXT]
    cid, key = store.create_credential(name="old", role="external_system")
    body = {"items": [{"lat": 43.25, "lon": 76.9}]}
    assert client.post("/api/v1/lookup/batch", json=body, headers={"X-API-Key": key}).status_code == 200
    store.revoke(cid)  # refused on the very next request (nothing is cached)
    resp = client.post("/api/v1/lookup/batch", json=body, headers={"X-API-Key": key})
    assert resp.status_code == 401 and "WWW-Authenticate" in resp.headers
    # A bad key is refused even on a public endpoint, never treated as no key.
    assert client.get("/api/v1/precincts", headers={"X-API-Key": "nope"}).status_code == 401
