"""The residents' page: the provisional label of a derived precinct, the post's address and directions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from geo_service.pages import public_precinct_page
from geo_service.pages.i18n import LANGS, t


def _render(app: Any, lang: str, *, source: str, address: str | None) -> str:
    from geo_service.lookup.service import Lookup

    city = app.extensions["geo_service"]
    lookup = Lookup(city)
    info = lookup.precinct_info(0)
    info = {**info, "precinct": {**info["precinct"], "source": source, "official": source == "official"},
            "post": {"name": "Пункт полиции", "address": address, "lat": 43.25, "lon": 76.9}}
    figures = {"received": 0, "closed": 0, "first_contact_median_h": None, "visits": 0}
    return public_precinct_page(city, info, lookup.precinct_feature(0), figures, lang=lang,
                                period=("2026-11-01", "2026-11-30"), generated="2026-12-01")


@pytest.mark.parametrize("lang", LANGS)
def test_derived_precinct_is_labelled_and_the_post_has_directions(app: Any, lang: str) -> None:
    html = _render(app, lang, source="derived", address="ул. Абая 10")
    assert t("pub_provisional", lang) in html and t("derived", lang) in html
    assert f"{t('stop_address', lang)}: ул. Абая 10" in html
    nav = re.findall(r'<a class="gs-nav [^"]+" href="([^"]+)"', html)
    assert nav == ["geo:43.250000,76.900000?q=43.250000,76.900000", "https://2gis.kz/geo/76.900000,43.250000",
                   "https://yandex.kz/maps/?rtext=~43.250000,76.900000&amp;rtt=pd"]


def test_official_precinct_and_a_post_without_address(app: Any) -> None:
    html = _render(app, "ru", source="official", address=None)
    assert t("pub_provisional", "ru") not in html and t("pub_no_address", "ru") in html
