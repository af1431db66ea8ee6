"""The names a planner reads for a siting result's sites (`geo_service.siting.site_names`), over
the tiny city: a proposed site's rank follows the marginal table's order, its place is the
nearest address (within 60 m) or else the street at its road node, spelled in the page's
language where the bundle has that spelling; an existing post is named by the bundle."""

from __future__ import annotations

from pathlib import Path

from geo_service.bundle import load_bundle
from geo_service.siting.site_names import ranks, site_names
from tests.conftest import grid_latlon


def _site(label: str, i: float, j: float) -> dict[str, object]:
    lat, lon = grid_latlon(i, j)
    return {"label": label, "lat": lat, "lon": lon}


def _result() -> dict[str, object]:
    # Chosen in index order; the marginal table adds the second one first.
    return {"request": {"minutes": 2, "mode": "walk"},
            "existing": [_site("POST-P-01", 0.3, 0.3)],
            "chosen": [_site("node-on-abay", 0, 2), _site("node-at-house", 1.5, 0.5), _site("site-x", 3, 3)],
            "marginal": {"steps": [{"p": 1, "sites": ["node-at-house"]}, {"p": 2, "sites": ["node-on-abay"]}]}}


def test_ranks_follow_the_marginal_table_then_the_result() -> None:
    assert ranks(_result()) == {"node-at-house": 1, "node-on-abay": 2, "site-x": 3}
    assert ranks({"chosen": [{"label": "a"}, {"label": "b"}]}) == {"a": 1, "b": 2}


def test_site_names_over_the_tiny_city(built_tiny: Path) -> None:
    city = load_bundle(built_tiny)
    ru = site_names(city, _result(), "ru")
    assert [(s["id"], s["kind"], s["rank"]) for s in ru] == [
        ("POST-P-01", "existing", None), ("node-on-abay", "proposed", 2), ("node-at-house", "proposed", 1),
        ("site-x", "proposed", 3)]
    # The roster's post: its name and its own address.
    assert (ru[0]["post"], ru[0]["place"], ru[0]["place_kind"]) == ("P-01", "Абая 150", "post")
    # On a crossing of Abay avenue and Pushkin street, no house within 60 m: the longer street there.
    assert (ru[1]["place"], ru[1]["place_kind"]) == ("проспект Абая", "street")
    # On a building with an address.
    assert (ru[2]["place"], ru[2]["place_kind"]) == ("Толе би 29А", "address")
    assert ru[3]["place_kind"] in ("street", "address") and ru[3]["place"]
    # The Kazakh page gets the street's Kazakh name from the bundle.
    kk = site_names(city, _result(), "kk")
    assert kk[1]["place"] == "Абай даңғылы"
    # A site without coordinates has no place (and no error).
    bare = {"chosen": [{"label": "x"}], "request": {"minutes": 2}}
    assert site_names(city, bare, "en") == [{"id": "x", "kind": "proposed", "rank": 1, "post": None, "given": "x",
                                             "place": None, "place_kind": None}]
    # The service's own labels are not shown; a planner's label is.
    assert [s["given"] for s in ru] == [None, None, None, "site-x"]
    named = {"chosen": [{"label": "School 12 yard"}, {"label": "site-2"}, {"label": "grid-3-4"}],
             "request": {"minutes": 2}}
    assert [s["given"] for s in site_names(city, named, "en")] == ["School 12 yard", None, None]
