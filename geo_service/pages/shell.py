"""The plain pages and the offline shell: the home page, the API docs (Swagger UI), the error
page a person reads, and the service worker with the list of files it keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from geo_service.pages.assets import VENDOR_DIR
from geo_service.pages.i18n import catalog, t
from geo_service.pages.kit import APP_DIR, ENV, LANG_NAV, attribution_of, city_name, lang_links, root_of
from geo_service.version import __version__

_HOME = ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.service_name }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
<script src="{{ static }}/app/sw-register.js" defer></script>
</head>
<body class="gs-plain">
<main class="gs-home">
  <nav class="gs-lang" aria-label="{{ t.language }}">
    {% for code, label in langs %}
    <a href="?lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
       {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
    {% endfor %}
  </nav>
  <h1>{{ t.service_name }}</h1>
  <p>{{ t.home_intro }}</p>
  {% if city %}<p>{{ t.city }}: <strong>{{ city }}</strong></p>{% endif %}
  {% if demo %}<p class="gs-demo">{{ t.demo_note }}</p>{% endif %}
  <ul class="gs-links">
    <li><a class="gs-button" href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></li>
    <li><a class="gs-button gs-secondary" href="{{ api }}/docs?lang={{ lang }}">{{ t.nav_docs }}</a></li>
    <li><a class="gs-button gs-secondary" href="{{ root }}sign-in?lang={{ lang }}">{{ t.signin_link }}</a></li>
  </ul>
  <p class="gs-attrib">{{ t.map_data }}: {{ attribution }}</p>
</main>
</body>
</html>
""")


_DOCS = ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.docs_title }}</title>
<link rel="stylesheet" href="{{ static }}/vendor/swagger-ui-dist/swagger-ui.css">
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<nav class="gs-docs-nav"><a href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a>
  <a href="{{ root }}precincts/map?lang={{ lang }}">{{ t.nav_precincts }}</a></nav>
<div id="swagger-ui" data-spec="{{ spec }}"></div>
<script src="{{ static }}/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
<script src="{{ static }}/app/docs.js"></script>
</body>
</html>
""")


def home_page(*, lang: str, city: Mapping[str, Any] | None, static_url: str = "/static",
              api_url: str = "/api/v1") -> str:
    """The home page: what the service does and links to the pages.

    ``city`` is the loaded bundle's manifest, or None when no city is loaded.
    """
    static_url = static_url.rstrip("/")
    manifest = city or {}
    return _HOME.render(t=catalog(lang), lang=lang, langs=lang_links(),
                        static=static_url, root=root_of(static_url), api=api_url.rstrip("/"),
                        city=city_name(manifest, lang) if manifest else None, demo=bool(manifest.get("demo")),
                        attribution=attribution_of(manifest))


def api_docs_page(*, lang: str, spec_url: str, static_url: str = "/static") -> str:
    """Swagger UI (vendored ``swagger-ui-dist``) over the OpenAPI document at ``spec_url``."""
    static_url = static_url.rstrip("/")
    return _DOCS.render(t=catalog(lang), lang=lang, static=static_url, root=root_of(static_url), spec=spec_url)


_ERROR = ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.err_page_title }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
</head>
<body class="gs-plain">
<main class="gs-home gs-error-page">
""" + LANG_NAV + """
  <h1>{{ t.err_page_title }}</h1>
  <p class="gs-error-text" role="alert">{{ message }}</p>
{% if hint %}  <p class="gs-error-hint">{{ hint }}</p>
{% endif %}
{% if renew %}
  <style>.gs-renew button{font:inherit;font-weight:600;width:100%;min-height:44px;cursor:pointer;border:0}</style>
  <form class="gs-renew" method="post" action="{{ renew.url }}">
    <input type="hidden" name="csrf_token" value="{{ renew.csrf }}">
    <p class="gs-error-hint">{{ t.renew_hint_signed_in if renew.signed_in else t.renew_hint_sign_in }}</p>
    <button type="submit" class="gs-button">{{ t.renew_button }}</button>
  </form>
{% endif %}
  <ul class="gs-links"><li><a class="gs-button gs-secondary" href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a></li></ul>
</main>
</body>
</html>
""")  # noqa: E501 - template markup: one line per element, as the page reads


def error_page(*, lang: str, message_key: str, static_url: str = "/static", hint_key: str | None = None,
               renew: Mapping[str, Any] | None = None) -> str:
    """A readable error page (an expired link, another inspector's plan, ...) in ``lang``;
    ``hint_key`` adds a second sentence (how to renew an expired link); ``renew`` (``url``,
    ``csrf``, ``signed_in``) adds the expired link's "Get a new link" form."""
    static_url = static_url.rstrip("/")
    return _ERROR.render(t=catalog(lang), lang=lang, langs=lang_links(), static=static_url,
                         root=root_of(static_url), message=t(message_key, lang),
                         hint=t(hint_key, lang) if hint_key else "", renew=renew)


_SHELL_SUFFIXES: Final[frozenset[str]] = frozenset({".js", ".css", ".png", ".svg", ".woff2"})
#: Vendored folders the map pages never load (the docs page's Swagger UI is big and online-only).
_NOT_SHELL: Final[frozenset[str]] = frozenset({"swagger-ui-dist", "leaflet.heat"})
#: Fonts no map page draws with (the post marker's icon is Font Awesome's solid face).
_NOT_SHELL_FILES: Final[frozenset[str]] = frozenset({
    "fa-brands-400.woff2", "fa-regular-400.woff2", "fa-v4compatibility.woff2"})


def shell_files(static_url: str = "/static", *, url_of: Callable[[str], str | None] | None = None) -> list[str]:
    """URLs of the app shell the service worker stores on install.

    The map pages' vendored scripts, styles, images and ``woff2`` fonts, and the
    pages' own files, sorted. ``url_of`` maps a path in the static folder to the URL the
    pages use (the web app's content-hashed URLs); by default ``<static_url>/<path>``.
    """
    static_url = static_url.rstrip("/")
    rels: list[str] = []
    for path in sorted(VENDOR_DIR.rglob("*")):
        rel = path.relative_to(VENDOR_DIR)
        if path.is_file() and path.suffix in _SHELL_SUFFIXES and rel.parts[0] not in _NOT_SHELL \
                and path.name not in _NOT_SHELL_FILES:
            rels.append(f"vendor/{rel.as_posix()}")
    rels += [f"app/{p.name}" for p in sorted(APP_DIR.iterdir())
             if p.is_file() and p.suffix in (".js", ".css") and p.name != "sw.js"]
    return [(url_of(rel) if url_of is not None else None) or f"{static_url}/{rel}" for rel in rels]


def service_worker_js(*, static_url: str = "/static", extra: Iterable[str] = (),
                      url_of: Callable[[str], str | None] | None = None) -> str:
    """The service worker: ``static/app/sw.js`` with the shell list and a version prepended.

    The version hashes the package version and the shell files' sizes and times, so
    a deploy with new assets replaces the old cache.
    """
    files = shell_files(static_url, url_of=url_of)
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(VENDOR_DIR.rglob("*")) + sorted(APP_DIR.iterdir()):
        if path.is_file():
            st = path.stat()
            digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    head = (f"const GS_VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
            f"const GS_SHELL = {json.dumps([*files, *extra])};\n")
    return head + (APP_DIR / "sw.js").read_text(encoding="utf-8")


def map_controls(m: Any, tr: Mapping[str, str], *, fullscreen: bool = True) -> None:
    """Add the full-screen button and title Leaflet's own zoom buttons, both in the page's language (#22)."""
    from branca.element import MacroElement  # noqa: PLC0415 - folium loads on first use
    from folium.plugins import Fullscreen  # noqa: PLC0415 - folium loads on first use
    from jinja2 import Template  # noqa: PLC0415 - folium loads on first use

    if fullscreen:
        Fullscreen(position="topleft", title=tr["map_fullscreen"], title_cancel=tr["map_fullscreen_exit"]).add_to(m)

    class _ZoomTitles(MacroElement):
        _template = Template("""{% macro script(this, kwargs) %}
(function (c) {
  if (!c) { return; }
  [[c._zoomInButton, {{ this.zoom_in|tojson }}], [c._zoomOutButton, {{ this.zoom_out|tojson }}]].forEach(function (p) {
    if (p[0]) { p[0].title = p[1]; p[0].setAttribute('aria-label', p[1]); }
  });
})({{ this._parent.get_name() }}.zoomControl);
{% endmacro %}""")

        def __init__(self) -> None:
            super().__init__()
            self._name = "ZoomTitles"
            self.zoom_in, self.zoom_out = tr["map_zoom_in"], tr["map_zoom_out"]

    m.add_child(_ZoomTitles())
