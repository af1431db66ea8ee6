"""Rate limits for pages and the API apart, 429 pages people read, and the client address behind proxies."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.web.test_security import secure_app

API = "/api/v1/lookup?lat=43.2509&lon=76.9013"


def limited(bundle: Path, tmp_path: Path, **config: Any) -> Flask:
    return secure_app(bundle, tmp_path, RATELIMIT_PUBLIC="2/minute", RATELIMIT_PAGES="3/minute", **config)


def test_pages_and_api_are_counted_apart(built_tiny: Path, tmp_path: Path) -> None:
    client = limited(built_tiny, tmp_path).test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
    # The pages used up their own budget, not the API's.
    assert [client.get(API).status_code for _ in range(3)] == [200, 200, 429]
    api = client.get(API)
    assert api.mimetype == "application/problem+json" and int(api.headers["Retry-After"]) >= 1
    page = client.get("/")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert page.headers["Cache-Control"] == "no-store"
    assert "<!doctype html>" in page.get_data(as_text=True).lower()


def test_static_files_are_not_counted(built_tiny: Path, tmp_path: Path) -> None:
    client = limited(built_tiny, tmp_path).test_client()
    assert all(client.get("/static/app/pages.css").status_code == 200 for _ in range(10))
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(("query", "accept", "lang", "words"), [
    ("?lang=kk", None, "kk", "Сұраулар тым көп"),
    ("", "ru-RU,ru;q=0.9", "ru", "Слишком много запросов"),
    ("?lang=en", "ru", "en", "Too many requests"),
])
def test_a_refused_page_is_a_page_in_its_language(built_tiny: Path, tmp_path: Path, query: str,
                                                  accept: str | None, lang: str, words: str) -> None:
    client = limited(built_tiny, tmp_path).test_client()
    headers = {"Accept-Language": accept} if accept else {}
    for _ in range(3):
        client.get("/" + query, headers=headers)
    page = client.get("/" + query, headers=headers)
    body = page.get_data(as_text=True)
    assert page.status_code == 429 and page.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">' in body and words in body
    seconds = page.headers["Retry-After"]
    assert seconds in body  # the page says when to try again


def _xff(client: Any, path: str, forwarded_for: str) -> int:
    return client.get(path, environ_base={"REMOTE_ADDR": "10.0.0.1"},
                      headers={"X-Forwarded-For": forwarded_for}).status_code


def test_without_trusted_proxies_everyone_behind_the_proxy_shares_a_count(built_tiny: Path, tmp_path: Path) -> None:
    client = limited(built_tiny, tmp_path).test_client()
    assert [_xff(client, API, "203.0.113.5"), _xff(client, API, "203.0.113.6"),
            _xff(client, API, "203.0.113.7")] == [200, 200, 429]


def test_trusted_proxies_give_each_client_its_own_count(built_tiny: Path, tmp_path: Path) -> None:
    client = limited(built_tiny, tmp_path, TRUSTED_PROXIES=1).test_client()
    assert [_xff(client, API, "203.0.113.5") for _ in range(3)] == [200, 200, 429]
    assert _xff(client, API, "203.0.113.6") == 200  # another citizen behind the same proxy
    # Only the hop the proxy added is trusted: a client cannot forge an earlier address.
    assert _xff(client, API, "198.51.100.1, 203.0.113.5") == 429


def test_trusted_proxies_must_be_a_count(built_tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        secure_app(built_tiny, tmp_path, TRUSTED_PROXIES="nginx")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        secure_app(built_tiny, tmp_path, TRUSTED_PROXIES=-1)


def test_page_limit_in_redis_is_shared_by_two_apps(built_tiny: Path, tmp_path: Path) -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    cfg = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_PUBLIC": "1/minute",
           "RATELIMIT_PAGES": "2/minute"}
    a = secure_app(built_tiny, tmp_path, **cfg)
    b = secure_app(built_tiny, tmp_path, **cfg)  # a second worker on the same counters
    ip = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    codes = [a.test_client().get("/", environ_base=ip).status_code,
             b.test_client().get("/", environ_base=ip).status_code,
             a.test_client().get("/?lang=en", environ_base=ip).status_code]
    assert codes == [200, 200, 429]
    assert b.test_client().get(API, environ_base=ip).status_code == 200  # the API's own count
    assert b.test_client().get(API, environ_base=ip).status_code == 429
