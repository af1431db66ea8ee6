"""Pages and proxies in the rate limits (used by `geo_service.web.security`).

* `is_page_request`: what people read in a browser (the pages blueprint outside ``/api/``);
  anonymous page requests are counted against ``RATELIMIT_PAGES`` apart from the API's
  ``RATELIMIT_PUBLIC``, so a citizen opening the map does not use up the API's budget of
  everyone behind the same address (a carrier's NAT, a proxy).
* `too_many_page`: a page refused with 429 answers a short HTML page in the page's language
  with ``Retry-After``; API answers stay problem+json.
* `trust_proxies`: ``TRUSTED_PROXIES`` hops of werkzeug's ProxyFix, so the client address
  (limits, audit) is the real one behind a reverse proxy.
"""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["is_page_request", "too_many_page", "trust_proxies"]


def is_page_request() -> bool:
    """A request for what people read in a browser: the pages blueprint outside ``/api/``.

    Anonymous page requests count against ``RATELIMIT_PAGES``, apart from the API's
    ``RATELIMIT_PUBLIC`` (static files and tiles are exempt), and a page refused with 429 is a
    page, not problem+json."""
    return has_request_context() and request.blueprint == "pages" and not request.path.startswith("/api/")


#: The 429 page's words: (title, text with {seconds}, "try again").
_TOO_MANY_TEXT = {
    "kk": ("Сұраулар тым көп", "Бұл мекенжайдан сұраулар тым көп келді. {seconds} секундтан кейін қайталаңыз.",
           "Қайталау"),
    "ru": ("Слишком много запросов", "С этого адреса пришло слишком много запросов. Повторите через {seconds} с.",
           "Повторить"),
    "en": ("Too many requests", "Too many requests came from this address. Try again in {seconds} s.", "Try again"),
}
_TOO_MANY_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222}}
a{{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;background:#1f4e8c;color:#fff;
text-decoration:none}}</style>
</head><body><h1>{title}</h1><p>{text}</p><p><a href="">{again}</a></p></body></html>
"""


def too_many_page(lang: str, seconds: int) -> Response:
    """The 429 answer of a page: a short HTML page in ``lang`` with ``Retry-After``."""
    lang = lang if lang in _TOO_MANY_TEXT else "ru"
    title, text, again = _TOO_MANY_TEXT[lang]
    body = _TOO_MANY_PAGE.format(lang=lang, title=title, text=text.format(seconds=seconds), again=again)
    resp = Response(body, status=429, mimetype="text/html")
    resp.headers["Retry-After"] = str(seconds)
    resp.headers["Content-Language"] = lang
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Vary"] = "Accept-Language"
    return resp


def trust_proxies(app: Flask, raw: int | str | None) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies (nginx, a load balancer), take the client
    address, scheme, host and port from their ``X-Forwarded-*`` headers (werkzeug's ProxyFix,
    trusting that many hops and no more); 0, the default, trusts none."""
    try:
        hops = int(raw or 0)
    except (TypeError, ValueError):
        hops = -1
    if hops < 0:
        msg = f"TRUSTED_PROXIES must be the number of reverse proxies in front of the service (0 or more), not {raw!r}"
        raise ValueError(msg)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
