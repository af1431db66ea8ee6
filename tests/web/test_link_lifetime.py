"""A route link lasts the plan's shift (plus a grace), and an expired one says how to renew it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from geo_service import clock
from geo_service.errors import LinkRefused
from geo_service.web.context import STORE_EXT
from geo_service.web.security import link_lifetime, load_plan_by_link, make_link, shift_end, verify_link
from tests.conftest import grid_latlon

DAY = "2026-11-20"
H = 3600.0


@pytest.fixture()
def app(built_tiny: Path, tmp_path: Path) -> Any:
    from geo_service import create_app

    return create_app({"BUNDLE": str(built_tiny), "TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'gs.db'}",
                       "BUNDLE_POLL_SECONDS": 0, "TIME_ZONE": "Asia/Almaty"})


def _plan(body: dict[str, Any]) -> Any:
    return SimpleNamespace(id="p", body=body)


SHIFT = {"date": DAY, "shift": {"start": "09:00", "end": "20:00"}}


@pytest.mark.parametrize(("now", "hours"), [
    ("2026-11-20T08:00:00+05:00", 14.0),  # until 22:00: the shift and two hours
    ("2026-11-20T19:00:00+05:00", 8.0),  # late: never less than LINK_TTL
    ("2026-11-19T20:00:00+05:00", 24.0),  # the evening before: capped at LINK_TTL_MAX
    ("2026-11-20T03:00:00Z", 14.0),  # 08:00 in Almaty, whatever the server's zone
])
def test_a_default_link_lasts_the_shift_and_a_grace(app: Any, now: str, hours: float) -> None:
    with app.app_context(), clock.frozen_at(now, ticking=False):
        assert link_lifetime(_plan(SHIFT)) == pytest.approx(hours * H)


def test_a_plan_without_a_shift_gets_link_ttl(app: Any) -> None:
    with app.app_context(), clock.frozen_at("2026-11-20T08:00:00+05:00", ticking=False):
        assert link_lifetime(_plan({"date": DAY})) == 8 * H
        assert link_lifetime(_plan({"date": "not a date", "shift": {"end": "20:00"}})) == 8 * H
    assert shift_end(_plan(SHIFT), "Asia/Almaty").isoformat() == "2026-11-20T20:00:00+05:00"


def test_grace_and_limits_are_settings(built_tiny: Path, tmp_path: Path) -> None:
    from geo_service import create_app

    app = create_app({"BUNDLE": str(built_tiny), "TESTING": True, "LINK_GRACE": 0, "LINK_TTL": 3600,
                      "LINK_TTL_MAX": 10 * 3600})
    with app.app_context(), clock.frozen_at("2026-11-20T08:00:00+05:00", ticking=False):
        assert link_lifetime(_plan(SHIFT)) == 10 * H  # 12 h to the shift end, capped at 10
    with app.app_context(), clock.frozen_at("2026-11-20T12:00:00+05:00", ticking=False):
        assert link_lifetime(_plan(SHIFT)) == 8 * H


def _kept_plan(app: Any) -> tuple[Any, dict[str, str]]:
    _, token = app.extensions[STORE_EXT].create_credential(
        name="ui1", role="inspector", kind="user_token", subject="UI-1", precinct_ids=["P-01"])
    headers = {"Authorization": f"Bearer {token}"}
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.3)[0], "lon": grid_latlon(0.5 + k, 0.3)[1],
               "minutes": 10, "priority": 2} for k in range(2)]
    resp = app.test_client().post("/api/v1/routes/plan", headers=headers, json={
        "inspector_id": "UI-1", "date": DAY, "visits": visits, "include_appeals": False,
        "shift": {"start": "09:00", "end": "20:00", "breaks": []}})
    assert resp.status_code == 201, resp.json
    return app.extensions[STORE_EXT].get_plan(resp.json["id"]), headers


def test_a_link_made_in_the_morning_opens_until_after_the_shift(app: Any) -> None:
    with clock.frozen_at("2026-11-20T08:00:00+05:00") as start:
        plan, headers = _kept_plan(app)
        with app.test_request_context(headers=headers):
            _, token, expires = make_link(plan)
        assert timedelta(hours=13.9) < expires - start < timedelta(hours=14.1)
    with clock.frozen_at("2026-11-20T21:30:00+05:00"), app.test_request_context():
        assert verify_link(token) == plan.id  # 18:00 would have been the end with the old 8 h
    with clock.frozen_at("2026-11-20T22:30:00+05:00"), app.test_request_context():
        with pytest.raises(LinkRefused) as refused:
            verify_link(token)
        renew = refused.value.to_problem()["renew"]
        assert renew == {"method": "POST", "href": f"/api/v1/routes/plans/{plan.id}/link",
                         "who": renew["who"]} and "credential" in renew["who"]
        assert refused.value.to_problem()["reason"] == "expired"
        with pytest.raises(LinkRefused) as again:
            load_plan_by_link(token)
        assert again.value.extra["renew"]["href"].endswith(f"/{plan.id}/link")
    # The creator renews with their own credential: a fresh link to the same plan.
    with clock.frozen_at("2026-11-20T22:31:00+05:00"):
        fresh = app.test_client().post(renew["href"], headers=headers)
        assert fresh.status_code == 201
        with app.test_request_context():
            assert verify_link(fresh.json["url"].split("/r/")[1]) == plan.id


def test_a_revoked_or_unknown_link_offers_no_renewal(app: Any) -> None:
    with clock.frozen_at("2026-11-20T08:00:00+05:00"):
        plan, headers = _kept_plan(app)
        with app.test_request_context(headers=headers):
            link_id, token, _ = make_link(plan)
        app.extensions[STORE_EXT].revoke_link(link_id)
        with app.test_request_context():
            for bad in (token, "rl_0123456789abcdef.nope"):
                with pytest.raises(LinkRefused) as refused:
                    verify_link(bad)
                assert "renew" not in refused.value.to_problem()
