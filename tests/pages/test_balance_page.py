"""The balance proposal page (#22): a real balance run on the tiny city (two posts, official
precincts, a skewed staffing so blocks move), drawn at ``/workload/balance/<id>/map``: the
proposed and current precincts, the blocks that move (their cells derived from the bundle),
the table before and after, the parameters, and readable pages for unknown or unfinished ids."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from geo_service.pages.balance import balance_layer_data, block_cells, moved_areas
from geo_service.pages.i18n import LANGS, t
from geo_service.pages.kit import format_number
from geo_service.pages.strings_planner import STRINGS
from geo_service.web.context import STORE_EXT
from tests.conftest import TWO_PRECINCTS


@pytest.fixture()
def posts_city(tmp_path: Path, tiny_osm: Path, write_precincts: Callable[..., Path]) -> Path:
    """The tiny city with official precincts and its two OpenStreetMap posts (no roster)."""
    from geo_service.ingest.build import BuildOptions, build_city

    out = tmp_path / "bundle-posts"
    build_city(BuildOptions(osm=tiny_osm, out=out, precincts=write_precincts(TWO_PRECINCTS), city="tiny"))
    return out


@pytest.fixture()
def balanced(posts_city: Path) -> dict[str, Any]:
    """A real balance run through the API: one inspector at the first post, three at the second."""
    from geo_service import create_app

    app = create_app({"BUNDLE": str(posts_city), "TESTING": True})
    city = app.extensions["geo_service"]
    store = app.extensions[STORE_EXT]
    _, token = store.create_credential(name="planner", role="planner", kind="user_token")
    planner = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    posts = city.posts.post_id.astype(str).tolist()
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.1, "inspectors_per_post": {
        posts[0]: 1, posts[1]: 3}}, headers=planner)
    assert resp.status_code == 201, resp.json
    return {"app": app, "city": city, "client": client, "planner": planner, "id": resp.json["id"],
            "body": resp.json, "store": store}


def _url(b: dict[str, Any], lang: str = "en") -> str:
    return f"/workload/balance/{b['id']}/map?lang={lang}"


@pytest.mark.parametrize("lang", LANGS)
def test_page_draws_the_proposal_and_its_table(balanced: dict[str, Any], lang: str) -> None:
    body = balanced["body"]
    assert body["moved_blocks"], "the skewed staffing must move blocks"
    resp = balanced["client"].get(_url(balanced, lang), headers=balanced["planner"])
    assert resp.status_code == 200 and resp.headers["Content-Language"] == lang
    html = resp.get_data(as_text=True)
    assert not re.search(r"https?://(cdn\.|unpkg|cdnjs)", html)  # no CDN links
    assert "balance.js" in html and "GeoServiceBalance.init(" in html
    # One table row per proposed precinct, with the workload per inspector and residents before -> after.
    rows = re.findall(r'<tr data-precinct="([^"]+)" class="gs-bal-(ok|out|held)">(.*?)</tr>', html, re.S)
    assert [r[0] for r in rows] == sorted(u["precinct_id"] for u in body["precincts"])
    for (pid, status, cells), u in zip(rows, sorted(body["precincts"], key=lambda u: u["precinct_id"])):
        per = (f"{format_number(u['per_inspector_before'], 2, lang)}\u00a0→ "
               f"{format_number(u['per_inspector_after'], 2, lang)}")
        assert per in cells, (pid, per)
        residents = (f"{format_number(u['residents_before'], 0, lang)}\u00a0→ "
                     f"{format_number(u['residents_after'], 0, lang)}")
        assert residents in cells
        assert status == "ok"  # both within ±10% after (the run reaches the band)
    # The imbalance figures before and after, from the summary.
    s = body["summary"]
    figures = re.search(r'id="gs-bal-figures">(.*?)</table>', html, re.S).group(1)
    ratio = re.search(rf"{re.escape(t('balance_fig_ratio', lang))}</th><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>",
                      figures)
    assert ratio and ratio.groups() == (format_number(s["before"]["max_min_ratio"], 2, lang),
                                        format_number(s["after"]["max_min_ratio"], 2, lang))
    assert float(s["before"]["max_min_ratio"]) > 2 > float(s["after"]["max_min_ratio"])
    # The run's parameters, from the job's inputs.
    params = re.search(r'id="gs-bal-params">(.*?)</dl>', html, re.S).group(1)
    assert "±10%" in params and t("balance_inspectors_given", lang, n=2) in params
    assert t("balance_rule_value", lang, min="60") in params and t("balance_method_grow", lang) in params


def test_layers_hold_proposed_current_and_moved(balanced: dict[str, Any]) -> None:
    body, city = balanced["body"], balanced["city"]
    data = balance_layer_data(city, body, lang="ru")
    assert sorted(f["id"] for f in data["proposed"]["features"]) == ["P-01", "P-02"]
    assert sorted(f["id"] for f in data["current"]["features"]) == ["P-01", "P-02"]
    assert len({f["properties"]["colour"] for f in data["proposed"]["features"]}) == 2
    moved = data["moved"]["features"]
    pairs = {(b["before"], b["after"]) for b in body["moved_blocks"]}
    names = dict(zip(city.precincts.precinct_id, city.precincts.name))
    assert {(f["properties"]["before"], f["properties"]["after"]) for f in moved} == \
        {(names[a], names[b]) for a, b in pairs}
    assert sum(f["properties"]["blocks"] for f in moved) == len(body["moved_blocks"])
    # The page's config and layers carry no ids of people, no inputs but the result's.
    html = balanced["client"].get(_url(balanced, "ru"), headers=balanced["planner"]).get_data(as_text=True)
    assert json.dumps(t("balance_layer_moved", "ru"), ensure_ascii=False)[1:-1] in html


def test_moved_cells_are_the_blocks_cells(balanced: dict[str, Any]) -> None:
    """The cells derived for the page hold every node of each moved block, as the solver built
    the blocks (`build_blocks` on the same city, cell size and no hard borders)."""
    from geo_service.workload.balance import build_blocks
    from geo_service.workload.indicators import default_demand

    body, city = balanced["body"], balanced["city"]
    g = city.walk
    cell_m = float(body["summary"]["cell_m"])
    blocks = build_blocks(city, cell_m=cell_m, demand=default_demand(city), cut=np.zeros(g.n_edges, dtype=bool))
    moved = body["moved_blocks"]
    cells = block_cells(city, [b["lat"] for b in moved], [b["lon"] for b in moved], cell_m)
    for b, cell in zip(moved, cells):
        nodes = np.flatnonzero(blocks.node_block == b["block"])
        assert len(nodes)
        pts = shapely.points(g.lon[nodes], g.lat[nodes])
        assert shapely.covers(shapely.buffer(cell, 1e-7), pts).all(), b
    # Each moved area lies in the proposed precinct it joins.
    proposed = {f["properties"]["precinct_id"]: shapely.geometry.shape(f["geometry"])
                for f in body["geojson"]["features"]}
    for area in moved_areas(city, moved, cell_m, proposed):
        assert shapely.difference(area["geometry"], proposed[area["after"]]).area < 1e-9
        assert area["geometry"].area > 0


def test_unknown_unfinished_and_refused(balanced: dict[str, Any]) -> None:
    client, planner, store = balanced["client"], balanced["planner"], balanced["store"]
    for lang in LANGS:
        resp = client.get(f"/workload/balance/rs_nope/map?lang={lang}", headers=planner)
        assert resp.status_code == 404 and resp.mimetype == "text/html"
        assert t("balance_err_not_found", lang) in resp.get_data(as_text=True)
    # A siting result's id is not a balance result.
    rid = store.save_result(kind="siting", created_by="test", body={"status": "done"})
    assert client.get(f"/workload/balance/{rid}/map", headers=planner).status_code == 404
    running = store.save_result(kind="balance", created_by="test", body={"status": "running"})
    resp = client.get(f"/workload/balance/{running}/map?lang=kk", headers=planner)
    assert resp.status_code == 202 and t("balance_err_running", "kk") in resp.get_data(as_text=True)
    assert resp.headers["Retry-After"]
    failed = store.save_result(kind="balance", created_by="test", body={"status": "failed", "detail": "x"})
    resp = client.get(f"/workload/balance/{failed}/map?lang=ru", headers=planner)
    assert resp.status_code == 409 and t("balance_err_failed", "ru") in resp.get_data(as_text=True)
    # Planners only.
    assert client.get(_url(balanced)).status_code in (302, 303, 401)
    _, token = store.create_credential(name="ins", role="inspector", kind="user_token", subject="UI-1",
                                       precinct_ids=["P-01"])
    assert client.get(_url(balanced), headers={"Authorization": f"Bearer {token}"}).status_code == 403


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_no_english_balance_text_on_kk_and_ru_pages(balanced: dict[str, Any], lang: str) -> None:
    html = balanced["client"].get(_url(balanced, lang), headers=balanced["planner"]).get_data(as_text=True)
    for key, texts in STRINGS.items():
        if not key.startswith("balance_"):
            continue
        assert set(texts) == set(LANGS), key
        english = texts["en"].split("{")[0].strip(" :(")
        if len(english) > 4 and english != texts[lang].split("{")[0].strip(" :("):
            assert english not in html, (key, english)


def test_hostile_names_show_as_text(tmp_path: Path) -> None:
    """Post and precinct names from a hostile OpenStreetMap extract reach the balance page as
    text only (never template source, never markup)."""
    from tests.pages.test_hostile_text import PAYLOAD, RAW_MARKUP, hostile, make_hostile_app

    app = make_hostile_app(tmp_path, files=False)
    store = app.extensions[STORE_EXT]
    _, token = store.create_credential(name="planner-h", role="planner", kind="user_token")
    planner = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    posts = app.extensions["geo_service"].posts.post_id.astype(str).tolist()
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.1, "inspectors_per_post": {
        posts[0]: 1, posts[-1]: 3}}, headers=planner)
    assert resp.status_code == 201, resp.json
    for lang in LANGS:
        html = client.get(f"/workload/balance/{resp.json['id']}/map?lang={lang}", headers=planner).get_data(
            as_text=True)
        assert "zz49zz" not in html
        for raw in RAW_MARKUP:
            assert raw not in html, raw
        # The template part shows literally (in the table as HTML text, in the layers as JSON data).
        shown = "OSMPOST:zz{{7*7}}zz {% raw %} {#"
        assert html.count(shown) + html.count(json.dumps(shown)[1:-1]) >= 2, lang
    assert hostile("OSMPOST").startswith("OSMPOST:") and PAYLOAD in hostile("OSMPOST")


def test_a_finished_proposal_is_rendered_once_per_language(balanced: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from geo_service import pages

    calls: list[str] = []
    real = pages.balance_page

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append(kwargs["lang"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "balance_page", counting)
    client, planner = balanced["client"], balanced["planner"]
    first = client.get(_url(balanced, "kk"), headers=planner).get_data(as_text=True)
    again = client.get(_url(balanced, "kk"), headers=planner).get_data(as_text=True)
    client.get(_url(balanced, "ru"), headers=planner)
    assert first == again
    assert calls == ["kk", "ru"]
