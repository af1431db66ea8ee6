"""Reload groups (``RELOAD_GROUP``): instances serving different bundles on one database (one per
oblast) follow only their own group's reloads; the jobs workers too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from geo_service import create_app
from geo_service.errors import InputError
from geo_service.jobs.worker import FollowedCity, reload_key
from geo_service.web.context import get_store
from tests.web.test_reload_faults import _app, _token, build  # noqa: F401 - the fixture is used by name


def test_a_reload_reaches_its_group_only(build: Callable[..., Path], tmp_path: Path) -> None:  # noqa: F811
    north, south = build(tmp_path / "north", "north"), build(tmp_path / "south", "south")
    north_2 = build(tmp_path / "north-2", "north-2")
    db = tmp_path / "gs.db"
    a = _app(north, db, RELOAD_GROUP="north", BUNDLE_POLL_SECONDS=0.05)
    a_peer = _app(north, db, RELOAD_GROUP="north", BUNDLE_POLL_SECONDS=0.05)
    b = _app(south, db, RELOAD_GROUP="south", BUNDLE_POLL_SECONDS=0.05, BUNDLE_ROOT=str(tmp_path))
    ungrouped = _app(south, db, BUNDLE_POLL_SECONDS=0.05)
    clients = {name: app.test_client() for name, app in
               (("a", a), ("a_peer", a_peer), ("b", b), ("ungrouped", ungrouped))}
    for c in clients.values():  # each reads its group's generation on its first poll
        c.get("/readyz")
    followed = FollowedCity(str(south), get_store(b), group="south")
    resp = clients["a"].post("/admin/reload", json={"bundle": str(north_2)}, headers=_token(a, "admin"))
    assert resp.status_code == 200, resp.json
    deadline = time.monotonic() + 20
    while clients["a_peer"].get("/readyz").json["city"] != "north-2":
        assert time.monotonic() < deadline, "the north peer never followed its group's reload"
        time.sleep(0.05)
    time.sleep(0.3)  # several polls of the others
    assert clients["b"].get("/readyz").json["city"] == "south"
    assert clients["ungrouped"].get("/readyz").json["city"] == "south"
    assert followed().manifest["city"] == "south"  # a south jobs worker stays too
    assert get_store(a).get_meta(reload_key("north")) and not get_store(a).get_meta(reload_key(None))


def test_a_bad_group_is_refused_naming_the_setting(built_tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="RELOAD_GROUP"):
        reload_key("north; DROP TABLE meta")
    app = create_app({"BUNDLE": str(built_tiny), "TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
                      "BUNDLE_POLL_SECONDS": 0, "RELOAD_GROUP": "a b"})
    with pytest.raises(InputError, match="RELOAD_GROUP"):
        from geo_service.web.views.admin import warm_reload

        warm_reload(app)
