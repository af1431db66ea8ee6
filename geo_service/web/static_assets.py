"""Static files under content-hashed URLs, compressed once; compressed pages and answers;
the base map's tiles.

- ``/static/h/<digest>/<path>``: the file ``static/<path>``; ``digest`` is the first 12
  hex digits of the SHA-256 of what is served. When it matches, the answer is
  ``Cache-Control: public, max-age=31536000, immutable`` (a new file gets a new URL, so a
  browser never asks twice); an older digest (a page kept from before a deploy) gets the
  current file with ``no-cache``. ``/static/<path>`` (files opened from disk, old links)
  is the same file with ``no-cache`` and its ETag.
- Style sheets are served with their ``url(...)`` references to the static folder
  rewritten to hashed URLs, so a font or image that changes under an unchanged style
  sheet changes the sheet's digest too.
- Text files are compressed once (brotli and gzip) and kept in memory; the answer
  follows ``Accept-Encoding`` (``Vary: Accept-Encoding``).
- Pages: every HTML answer's ``src``/``href`` to ``<static>/<path>`` is rewritten to the
  hashed URL (`HashedStatic.rewrite_html`, an after-request hook), and HTML, JSON,
  GeoJSON, CSV, GPX answers are compressed by Flask-Compress. Pages and API answers keep
  their own Cache-Control (``no-cache`` for pages, ``no-store`` for any answer to
  credentials: `geo_service.web.security`); nothing here is cached for a caller.
- `TileArchive`: the bundle's ``tiles.pmtiles``, memory-mapped, one tile at a time out.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import mmap
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import brotli  # type: ignore[import-untyped]  # no type information
from flask import Flask, Response, request
from flask_compress import Compress
from pmtiles.reader import MemorySource, Reader
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

__all__ = ["IMMUTABLE", "STATIC_EXT", "HashedStatic", "TileArchive", "accepts", "init_static", "preferred_coding"]

STATIC_EXT: Final[str] = "geo_service.static"
IMMUTABLE: Final[str] = "public, max-age=31536000, immutable"
_COMPRESSIBLE: Final[frozenset[str]] = frozenset({".js", ".css", ".svg", ".json", ".txt", ".map", ".html",
                                                    ".ttf", ".eot", ".otf"})
_TYPES: Final[dict[str, str]] = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                                 ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
                                 ".svg": "image/svg+xml", ".json": "application/json", ".map": "application/json"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(?!data:|https?:|//|#)([^'")?#]+)([^'")]*)\1\s*\)""")
#: Brotli's best level is slow (about 1 MB/s): files above this size get level 9.
_BROTLI_MAX_FOR_11 = 256 * 1024
#: Compressed pages and API answers (Flask-Compress); static files and tiles are compressed here.
COMPRESS_MIMETYPES: Final[list[str]] = [
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "application/javascript",
    "application/json", "application/problem+json", "application/geo+json", "application/gpx+xml",
    "application/xml", "image/svg+xml"]


@dataclass(frozen=True)
class _Asset:
    digest: str
    mimetype: str
    raw: bytes
    gzip: bytes | None
    br: bytes | None


def accepts(encoding: str) -> bool:
    """Whether the request's ``Accept-Encoding`` allows ``encoding`` (a ``q=0`` refuses it)."""
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in (encoding, "*"):
            return not re.search(r"q\s*=\s*0(\.0*)?\s*$", params.strip())
    return False


def preferred_coding(br: bytes | None, gz: bytes | None) -> str | None:
    """The coding to send of an answer compressed ahead (``br``, ``gzip``, or None for the raw
    bytes): brotli first, each only when there is such a copy and the request takes it."""
    if br is not None and accepts("br"):
        return "br"
    if gz is not None and accepts("gzip"):
        return "gzip"
    return None


class HashedStatic:
    """The static folder under content-hashed URLs (see the module docstring)."""

    def __init__(self, root: Path, url_path: str = "/static") -> None:
        self.root = root.resolve()
        self.url_path = url_path.rstrip("/")
        self._assets: dict[str, _Asset | None] = {}
        self._lock = threading.RLock()

    # -- files ----------------------------------------------------------------------------
    def asset(self, rel: str) -> _Asset | None:
        """The served form of ``static/<rel>`` (None when there is no such file), built once."""
        hit = self._assets.get(rel)
        if hit is not None or rel in self._assets:
            return hit
        with self._lock:
            if rel not in self._assets:
                self._assets[rel] = self._build(rel)
            return self._assets[rel]

    def _build(self, rel: str) -> _Asset | None:
        joined = safe_join(str(self.root), rel)
        if joined is None or not Path(joined).is_file():
            return None
        path = Path(joined)
        raw = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix == ".css":
            raw = self._rewrite_css(raw.decode("utf-8", errors="surrogateescape"), path).encode(
                "utf-8", errors="surrogateescape")
        mimetype = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        gz = br = None
        if suffix in _COMPRESSIBLE and len(raw) > 512:
            gz = gzip.compress(raw, compresslevel=9, mtime=0)
            br = brotli.compress(raw, quality=11 if len(raw) <= _BROTLI_MAX_FOR_11 else 9)
        return _Asset(hashlib.sha256(raw).hexdigest()[:12], mimetype, raw, gz, br)

    def _rewrite_css(self, text: str, path: Path) -> str:
        def hashed(match: re.Match[str]) -> str:
            quote, ref, tail = match.group(1), match.group(2), match.group(3)
            target = (path.parent / ref).resolve()
            try:
                rel = target.relative_to(self.root).as_posix()
            except ValueError:
                return match.group(0)
            url = self.url(rel)
            return match.group(0) if url is None else f"url({quote}{url}{tail}{quote})"

        return _CSS_URL.sub(hashed, text)

    def url(self, rel: str) -> str | None:
        """``/static/h/<digest>/<rel>``, or None when the static folder has no such file."""
        asset = self.asset(rel)
        return None if asset is None else f"{self.url_path}/h/{asset.digest}/{rel}"

    # -- pages ----------------------------------------------------------------------------
    def rewrite_html(self, html: str, static_url: str) -> str:
        """``src="<static_url>/<path>"`` and ``href=...`` of files that exist, as hashed URLs."""
        prefix = re.escape(static_url.rstrip("/"))
        pattern = re.compile(r'((?:src|href)=")' + prefix + r'/(?!h/)([^"?#]+)"')

        def hashed(match: re.Match[str]) -> str:
            asset = self.asset(match.group(2))
            if asset is None:
                return match.group(0)
            return f'{match.group(1)}{static_url.rstrip("/")}/h/{asset.digest}/{match.group(2)}"'

        return pattern.sub(hashed, html)

    # -- serving --------------------------------------------------------------------------
    def serve(self, filename: str) -> Response:
        """The view of ``/static/<path:filename>`` (hashed or not)."""
        digest = None
        parts = filename.split("/", 2)
        if len(parts) == 3 and parts[0] == "h" and re.fullmatch(r"[0-9a-f]{6,64}", parts[1]):
            digest, filename = parts[1], parts[2]
        asset = self.asset(filename)
        if asset is None:
            raise NotFound("no such static file")
        resp = Response(status=200, mimetype=asset.mimetype.split(";")[0])
        resp.content_type = asset.mimetype
        resp.headers["Cache-Control"] = IMMUTABLE if digest == asset.digest else "no-cache"
        resp.set_etag(asset.digest)
        resp.headers["Vary"] = "Accept-Encoding"
        if request.if_none_match.contains(asset.digest):
            resp.status_code = 304
            return resp
        coding = preferred_coding(asset.br, asset.gzip)
        body = asset.br if coding == "br" else asset.gzip if coding == "gzip" else None
        if body is not None:
            resp.headers["Content-Encoding"] = str(coding)
        resp.set_data(asset.raw if body is None else body)
        return resp


class TileArchive:
    """A bundle's ``tiles.pmtiles``, memory-mapped: the workers share its pages, a country's
    archive is not copied into each process, and the mapping stays valid when the bundle's
    folder is moved or a later build removes it (Linux keeps an unlinked file while mapped)."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._data = data
        self._reader = Reader(MemorySource(data))
        self.header: dict[str, Any] = self._reader.header()
        self.meta: dict[str, Any] = self._reader.metadata()

    @classmethod
    def open(cls, path: Path) -> TileArchive | None:
        """The archive at ``path``, or None when the bundle has none (built before tiles)."""
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            return cls(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))

    @property
    def max_zoom(self) -> int:
        return int(self.header["max_zoom"])

    @property
    def min_zoom(self) -> int:
        return int(self.header["min_zoom"])

    @property
    def bounds(self) -> list[float]:
        h = self.header
        return [h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's gzip-compressed MVT bytes, or None for a tile without data."""
        if not (self.min_zoom <= z <= self.max_zoom) or not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
            return None
        data = self._reader.get(z, x, y)
        return bytes(data) if data else None


def init_static(app: Flask) -> HashedStatic:
    """Serve the static folder hashed and compressed, compress pages and answers, and hash the
    pages' static links (call before the security layer, whose headers then come first)."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESS_MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 512)
    app.config.setdefault("COMPRESS_STREAMS", False)  # streamed exports stay streamed
    Compress(app)
    assert app.static_folder is not None
    hashed = HashedStatic(Path(app.static_folder), app.static_url_path or "/static")
    app.extensions[STATIC_EXT] = hashed
    app.view_functions["static"] = hashed.serve

    @app.after_request
    def _hash_page_links(resp: Response) -> Response:
        if resp.mimetype == "text/html" and not resp.direct_passthrough and not resp.is_streamed:
            static_url = request.script_root + hashed.url_path
            body = resp.get_data(as_text=True)
            new = hashed.rewrite_html(body, static_url)
            if new != body:
                resp.set_data(new)
        return resp

    return hashed
