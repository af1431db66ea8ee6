"""A JSON answer encoded once: the bytes as served, a strong validator and compressed copies.

A country's ``/api/v1/precincts`` is a ~100 MB document that never changes while its city is
loaded. Rebuilding it per request cost seconds and left each worker holding the freed heap
of its build; encoded once in the master (`Lookup.warm`, before gunicorn forks), its bytes
are shared by the workers copy-on-write.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import brotli  # type: ignore[import-untyped]  # no type information

__all__ = ["EncodedAnswer", "encode_json", "encode_json_object"]

#: Bodies smaller than this are sent as they are (Flask-Compress's ``COMPRESS_MIN_SIZE``).
MIN_COMPRESS_SIZE = 512
#: The levels Flask-Compress uses for the other answers (``COMPRESS_LEVEL``, ``COMPRESS_BR_LEVEL``):
#: the same sizes as before, at a cost paid once (a country's 100 MB: about 1 s each).
GZIP_LEVEL = 6
BROTLI_LEVEL = 5


def encode_json(value: Any) -> bytes:
    """``value`` as the app's ``jsonify`` sends it (not in debug mode): UTF-8, keys sorted,
    no spaces, a final newline."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


def encode_json_object(members: dict[str, Any], name: str, items: Iterable[Any]) -> bytes:
    """`encode_json` of ``{**members, name: list(items)}``, byte for byte, with the items encoded
    one at a time: the whole document never exists as Python objects (a country's precincts
    would be hundreds of megabytes of them)."""
    head = {**members, name: None}
    parts = [b"{"]
    for k, key in enumerate(sorted(head)):
        if k:
            parts.append(b",")
        parts.append(json.dumps(key, ensure_ascii=False).encode() + b":")
        if key != name:
            parts.append(json.dumps(members[key], ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
            continue
        parts.append(b"[")
        for i, item in enumerate(items):
            if i:
                parts.append(b",")
            parts.append(json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
        parts.append(b"]")
    parts.append(b"}\n")
    return b"".join(parts)


@dataclass(frozen=True)
class EncodedAnswer:
    """An answer's bytes, their SHA-256 (the strong ETag) and their gzip and brotli forms."""

    body: bytes
    digest: str
    gzip: bytes | None
    br: bytes | None

    @classmethod
    def of(cls, body: bytes) -> EncodedAnswer:
        """Hash and compress ``body`` once (bodies under `MIN_COMPRESS_SIZE` stay uncompressed)."""
        big = len(body) >= MIN_COMPRESS_SIZE
        return cls(body, hashlib.sha256(body).hexdigest(),
                   gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if big else None,
                   brotli.compress(body, quality=BROTLI_LEVEL) if big else None)

    def etag(self, encoding: str | None) -> str:
        """The strong ETag of one coding of the answer: the digest, with ``:br`` or ``:gzip`` for a
        compressed copy (Flask-Compress's form for the answers it compresses)."""
        return self.digest if encoding is None else f"{self.digest}:{encoding}"

    def coded(self, encoding: str | None) -> bytes:
        """The bytes of one coding: ``None`` (the body), ``br`` or ``gzip``."""
        copy = {None: self.body, "br": self.br, "gzip": self.gzip}[encoding]
        if copy is None:
            msg = f"no {encoding} copy of this answer"
            raise ValueError(msg)
        return copy
