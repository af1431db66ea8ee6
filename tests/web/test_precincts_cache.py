"""GET /api/v1/precincts is encoded once per loaded city and revalidated by its ETag."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

import brotli  # type: ignore[import-untyped]  # no type information
import pytest

from geo_service.lookup.encoded import encode_json
from geo_service.lookup.service import Lookup
from geo_service.web.context import EXTENSION


def _count_features(monkeypatch: pytest.MonkeyPatch, lookup: Lookup) -> list[int]:
    """Spy on the real lookup's `precinct_feature`: the indexes it is called with."""
    calls: list[int] = []
    real = lookup.precinct_feature

    def spy(index: int) -> dict[str, Any]:
        calls.append(index)
        return real(index)

    monkeypatch.setattr(lookup, "precinct_feature", spy)
    return calls


def test_precincts_are_encoded_once_and_revalidated(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    city = app.extensions[EXTENSION]
    lookup = city.cached("lookup", lambda: Lookup(city))  # the lookup the views use
    calls = _count_features(monkeypatch, lookup)
    client = app.test_client()
    first, second = client.get("/api/v1/precincts"), client.get("/api/v1/precincts")
    assert first.status_code == second.status_code == 200
    assert calls == list(range(len(lookup.ids)))  # one build for both requests
    assert first.content_type == "application/geo+json" and "Content-Encoding" not in first.headers
    assert first.data == second.data
    etag, weak = first.get_etag()
    assert not weak and etag == second.get_etag()[0] == hashlib.sha256(first.data).hexdigest()
    # The same document as before the cache: what jsonify sent (keys sorted, no spaces, a newline).
    assert first.data == encode_json(lookup.precincts_geojson())
    assert first.json["type"] == "FeatureCollection" and [f["id"] for f in first.json["features"]] == ["P-01", "P-02"]
    calls.clear()  # precincts_geojson above built the document once more
    again = client.get("/api/v1/precincts", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.data == b"" and again.get_etag() == (etag, False)
    assert client.get("/api/v1/precincts", headers={"If-None-Match": '"other"'}).data == first.data
    assert calls == []  # served from the bytes built by the first request


def test_compressed_copies_have_their_own_etags(client: Any) -> None:
    plain = client.get("/api/v1/precincts")
    br = client.get("/api/v1/precincts", headers={"Accept-Encoding": "br, gzip"})
    gz = client.get("/api/v1/precincts", headers={"Accept-Encoding": "gzip"})
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == plain.data
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == plain.data
    assert "Accept-Encoding" in br.headers["Vary"] and br.headers["Cache-Control"] == "no-cache"
    digest = plain.get_etag()[0]
    assert br.get_etag() == (f"{digest}:br", False) and gz.get_etag() == (f"{digest}:gzip", False)
    # A client holding the gzip copy revalidates it; the brotli copy is a different representation.
    gz_headers = {"Accept-Encoding": "gzip", "If-None-Match": f'"{digest}:gzip"'}
    assert client.get("/api/v1/precincts", headers=gz_headers).status_code == 304
    br_headers = {"Accept-Encoding": "br", "If-None-Match": f'"{digest}:gzip"'}
    assert client.get("/api/v1/precincts", headers=br_headers).status_code == 200


def test_warm_builds_the_answer_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    city = app.extensions[EXTENSION]
    lookup = Lookup(city)
    calls = _count_features(monkeypatch, lookup)
    lookup.warm()  # what the server's master runs before forking its workers
    assert sorted(calls) == list(range(len(lookup.ids)))
    answer = lookup.precincts_answer()
    assert lookup.precincts_answer() is answer and len(calls) == len(lookup.ids)
    assert answer.body == encode_json(lookup.precincts_geojson())
