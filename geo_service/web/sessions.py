"""Browser sessions (#22): a person signs in once with their token (or a password an admin
set) and the browser then carries a cookie instead of an ``Authorization`` header.

* The session id is 32 random bytes, sent only in the cookie; the store keeps its SHA-256
  (table ``sessions``), its credential and its expiry: at most ``SESSION_TTL`` (12 h) and
  never past the credential's own expiry. Every request reads the session joined with its
  credential (one indexed read, nothing cached): a credential revoked on any instance ends
  its sessions at their next request.
* The cookie (`COOKIE`) is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https (or always,
  with ``SESSION_COOKIE_SECURE``), with the app's script root as its path.
* CSRF: a state-changing request (POST, PUT, PATCH, DELETE) authenticated by the cookie must
  carry `csrf_token` of its session (form field ``csrf_token`` or header ``X-CSRF-Token``) and,
  when it sends one, a same-origin ``Origin`` (else ``Referer``). `csrf_refusal` is checked
  before every view (`geo_service.web.security.init_security`): an endpoint needing a role is
  refused (403); a public one runs as if no cookie came (the cookie grants it nothing).
  The token is derived from the session id (SHA-256 with a label), so it is never stored
  and unknown to anyone without the cookie.
* Passwords: `hash_password` / `check_password` (salted ``hashlib.scrypt``), table ``passwords``.

Framework-light: the SQL is SQLAlchemy Core on the service's store, in the request's unit of
work (`geo_service.unit`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from flask import Flask, Response, current_app, g, request, url_for
from sqlalchemy import delete, insert, select, update

from geo_service import clock
from geo_service.config import SETTINGS
from geo_service.unit import begin, connect

if TYPE_CHECKING:
    from geo_service.store import Credential, Store

#: The session cookie's name.
COOKIE = "gs_session"
#: The sign-in form's own CSRF cookie (double submit: no session exists yet).
SIGNIN_COOKIE = "gs_signin"
#: Methods that change state and so need the CSRF token when the cookie authenticates them.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_ID_PREFIX = "ss_"
#: scrypt parameters: 16 MiB and about 50 ms per check on one core.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def _setting(name: str) -> Any:
    value = current_app.config.get(name)
    return SETTINGS[name][0] if value is None else value


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def csrf_token(session_token: str) -> str:
    """The CSRF token bound to a session (derived from its secret id; never stored)."""
    return hashlib.sha256(f"gs-csrf:{session_token}".encode()).hexdigest()[:43]


@dataclass(frozen=True)
class Session:
    """A live session of this request: its id (for the audit log), secret, credential, expiry."""

    id: str
    token: str
    credential: Credential
    expires_at: datetime

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


# -- the store ---------------------------------------------------------------------------------

def _credential(row: Any) -> Credential:
    """A credentials row (joined with other columns) as the store's `Credential`."""
    from geo_service.store import Credential  # noqa: PLC0415 - SQLAlchemy loads with the store

    return Credential(id=row.id, kind=row.kind, name=row.name, role=row.role, subject=row.subject,
                      scopes=tuple(json.loads(row.scopes or "[]")),
                      precinct_ids=tuple(json.loads(row.precinct_ids or "[]")), rate_limit=row.rate_limit,
                      created_at=_utc(row.created_at),  # type: ignore[arg-type]
                      expires_at=_utc(row.expires_at), revoked_at=_utc(row.revoked_at))


def create_session(store: Store, cred: Credential, *, method: str) -> tuple[Session, str]:
    """A new session of ``cred``: ``(session, cookie value)``. Lives ``SESSION_TTL`` seconds, never
    past the credential's expiry; expired sessions of every credential are swept on the way."""
    now = clock.now()
    expires = now + timedelta(seconds=float(_setting("SESSION_TTL")))
    if cred.expires_at is not None:
        expires = min(expires, cred.expires_at)
    sid = SESSION_ID_PREFIX + secrets.token_hex(8)
    token = secrets.token_urlsafe(32)
    table = store.tables["sessions"]
    with begin(store.engine) as conn:
        conn.execute(delete(table).where(table.c.expires_at <= now))
        conn.execute(insert(table).values(id=sid, token_hash=_hash(token), credential_id=cred.id, method=method,
                                          created_at=now, expires_at=expires))
    return Session(id=sid, token=token, credential=cred, expires_at=expires), token


def open_session(store: Store, token: str) -> Session | None:
    """The live session a cookie names, with its active credential; None when unknown, expired,
    or its credential is revoked or expired (asked of the database every time)."""
    if not token or len(token) > 100:
        return None
    s, c = store.tables["sessions"], store.credentials
    q = (select(s.c.id.label("session_id"), s.c.expires_at.label("session_expires"), c)
         .select_from(s.join(c, c.c.id == s.c.credential_id))
         .where(s.c.token_hash == _hash(token)))
    with connect(store.engine) as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    cred = _credential(row)
    expires = _utc(row.session_expires)
    assert expires is not None
    if expires <= clock.now() or not cred.active():
        return None
    return Session(id=row.session_id, token=token, credential=cred, expires_at=expires)


def end_session(store: Store, session_id: str) -> None:
    """Delete a session (sign-out)."""
    table = store.tables["sessions"]
    with begin(store.engine) as conn:
        conn.execute(delete(table).where(table.c.id == session_id))


# -- passwords ---------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of a password with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt)}${b64(digest)}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches a `hash_password` value (constant time). With ``stored`` None
    a dummy hash is computed anyway, so an unknown name takes as long as a wrong password."""
    try:
        _, n, r, p, salt, want = (stored or "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$").split("$")
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return stored is not None and hmac.compare_digest(got, base64.b64decode(want))


def set_password(store: Store, credential_id: str, password: str) -> None:
    """Keep the salted hash of a credential's password (replacing an earlier one)."""
    table = store.tables["passwords"]
    value = hash_password(password)
    with begin(store.engine) as conn:
        res = conn.execute(update(table).where(table.c.credential_id == credential_id)
                           .values(hash=value, set_at=clock.now()))
        if not res.rowcount:
            conn.execute(insert(table).values(credential_id=credential_id, hash=value, set_at=clock.now()))


def password_credential(store: Store, login: str, password: str) -> Credential | None:
    """The active user credential whose subject (or name) is ``login`` and whose password is
    ``password``; None otherwise (also when the login names more than one credential)."""
    c, pw = store.credentials, store.tables["passwords"]
    login = login.strip()[:200]
    q = (select(c, pw.c.hash.label("password_hash")).select_from(c.join(pw, pw.c.credential_id == c.c.id))
         .where((c.c.subject == login) | (c.c.name == login)))
    with connect(store.engine) as conn:
        rows = list(conn.execute(q)) if login else []
    live = [r for r in rows if _credential(r).active()]
    ok = check_password(password, live[0].password_hash if len(live) == 1 else None)
    return _credential(live[0]) if ok and len(live) == 1 else None


# -- the request -------------------------------------------------------------------------------

def has_header_credentials() -> bool:
    """Whether the request brings its own credentials (they win over the cookie)."""
    return request.headers.get("Authorization") is not None or request.headers.get("X-API-Key") is not None


def request_session(store: Store) -> Session | None:
    """This request's session from its cookie (resolved once; None without a live one)."""
    if "_gs_session" in g:
        return g._gs_session
    token = request.cookies.get(COOKIE)
    sess = open_session(store, token) if token else None
    g._gs_session = sess
    g._gs_session_stale = token is not None and sess is None
    return sess


def same_origin() -> bool:
    """Whether ``Origin`` (else ``Referer``) names this site, when the browser sends one.

    ``Origin: null`` counts as absent: the service's ``Referrer-Policy: no-referrer`` makes
    browsers send it on their own same-origin form posts (the CSRF token still decides)."""
    here = urlsplit(request.host_url)
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        there = urlsplit(origin)
    elif request.headers.get("Referer"):
        there = urlsplit(request.headers["Referer"])
    else:
        return True
    return (there.scheme, there.netloc) == (here.scheme, here.netloc)


def csrf_ok(sess: Session) -> bool:
    """Whether this request carries its session's CSRF token and a same-origin origin."""
    sent = request.headers.get("X-CSRF-Token") or (request.form.get("csrf_token") if request.form else None) or ""
    return hmac.compare_digest(sent.encode("utf-8", "replace"), sess.csrf.encode()) and same_origin()


def cookie_path() -> str:
    return request.script_root or "/"


def set_session_cookie(resp: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over https, path = the app's root.

    A browser-session cookie (no Expires): the store's expiry decides, so a phone whose clock
    is wrong neither drops a live session nor keeps a dead one."""
    resp.set_cookie(COOKIE, token, path=cookie_path(), httponly=True, samesite="Strict",
                    secure=bool(request.is_secure or _setting("SESSION_COOKIE_SECURE")))


def clear_session_cookie(resp: Response) -> None:
    resp.delete_cookie(COOKIE, path=cookie_path(), httponly=True, samesite="Strict",
                       secure=bool(request.is_secure or _setting("SESSION_COOKIE_SECURE")))


def signin_csrf() -> tuple[str, bool]:
    """The sign-in form's CSRF value (from its cookie, or a new one: then True)."""
    have = request.cookies.get(SIGNIN_COOKIE) or ""
    if 20 <= len(have) <= 64 and have.replace("-", "").replace("_", "").isalnum():
        return have, False
    return secrets.token_urlsafe(24), True


def set_signin_cookie(resp: Response, value: str) -> None:
    resp.set_cookie(SIGNIN_COOKIE, value, max_age=3600, path=cookie_path(), httponly=True, samesite="Strict",
                    secure=bool(request.is_secure or _setting("SESSION_COOKIE_SECURE")))


def signin_csrf_ok() -> bool:
    """The sign-in post's double-submit check: its form field equals its cookie, same origin."""
    have, sent = request.cookies.get(SIGNIN_COOKIE) or "", request.form.get("csrf_token") or ""
    return bool(have) and hmac.compare_digest(have.encode("utf-8", "replace"), sent.encode("utf-8", "replace")) \
        and same_origin()


def csrf_refusal(store: Store, view: Any) -> Response | None:
    """The refusal of a state-changing request the cookie authenticates without its session's
    CSRF token or from another origin: 403 for an endpoint needing a role (a readable page for
    a form, problem+json otherwise); a public endpoint runs as if no cookie came (None)."""
    if (view is None or request.method not in UNSAFE_METHODS or has_header_credentials()
            or request.cookies.get(COOKIE) is None):
        return None
    sess = request_session(store)
    if sess is None or csrf_ok(sess):
        return None
    g._gs_csrf_failed = True  # the cookie names no principal in this request
    if getattr(view, "access_role", None) == "public":
        return None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return message_page("signin_err_csrf", 403)
    from geo_service.web.context import problem  # noqa: PLC0415 - a leaf, kept out of the import head

    return problem(403, "Forbidden", "a request signed in by the session cookie needs its CSRF token "
                   "(form field csrf_token or header X-CSRF-Token) and a same-origin Origin")


def page_lang() -> str:
    from geo_service.pages.i18n import choose_lang  # noqa: PLC0415 - pages load with the first page

    return choose_lang(request.args.get("lang"), request.headers.get("Accept-Language"))


def static_url() -> str:
    return url_for("static", filename="").rstrip("/")


def wants_page() -> bool:
    """A browser opening a page: GET/HEAD of the pages blueprint outside ``/api/``, accepting
    ``text/html`` by name (``*/*`` alone is a script, which keeps its 401 problem+json)."""
    from geo_service.web.limits import is_page_request  # noqa: PLC0415 - a leaf

    return (request.method in ("GET", "HEAD") and is_page_request()
            and any(mt in ("text/html", "application/xhtml+xml") and q > 0 for mt, q in request.accept_mimetypes))


def safe_next(value: str | None) -> str | None:
    """``value`` when it is a path on this site (``/...``, never ``//host``, ``/\\host`` or a URL
    with a scheme), else None."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 33 or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def sign_in_url(next_path: str | None = None) -> str:
    """``/sign-in?next=<path>&lang=<lang>`` under the app's root (the path keeps its ``/``, so the
    access log's link mask still sees a ``/r/`` in it)."""
    q = {"lang": page_lang()}
    if next_path:
        q["next"] = next_path
    return f"{request.script_root}/sign-in?" + urlencode(q, safe="/", quote_via=quote)


def sign_in_redirect(next_path: str | None = None) -> Response:
    """303 to the sign-in page, coming back to ``next_path`` (default: this request's page)."""
    if next_path is None:
        next_path = request.script_root + request.path + (f"?{request.query_string.decode('latin-1')}"
                                                          if request.query_string else "")
    resp = Response(status=303)
    resp.headers["Location"] = sign_in_url(safe_next(next_path))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def message_page(key: str, status: int, *, hint_key: str | None = None) -> Response:
    """A readable page (the shared error page) with the text ``key`` in the page's language."""
    from geo_service import pages  # noqa: PLC0415 - pages load with the first page

    lang = page_lang()
    body = pages.error_page(lang=lang, message_key=key, static_url=static_url(), hint_key=hint_key)
    resp = Response(body, status=status, mimetype="text/html")
    resp.headers["Content-Language"] = lang
    resp.headers["Cache-Control"] = "no-store"
    return resp


def forbidden_page(exc: Exception) -> Response:
    """403 as a page: a role too low for the page (signed in) or another's data."""
    role_low = str(getattr(exc, "user_message", "")).startswith("this endpoint needs")
    return message_page("signin_err_role" if role_low else "err_forbidden", 403,
                        hint_key="signin_err_role_hint" if role_low else None)


def init_sessions(app: Flask) -> None:
    """Clear a dead session's cookie on the way out (expired, revoked, unknown)."""

    @app.after_request
    def _clear_stale(resp: Response) -> Response:
        if g.get("_gs_session_stale") and not g.get("_gs_cookie_set"):
            clear_session_cookie(resp)
        if request.cookies.get(COOKIE) is not None:
            resp.vary.add("Cookie")
        sess = g.get("_gs_session")
        if (sess is not None and not g.get("_gs_csrf_failed")
                and resp.mimetype == "text/html" and not resp.direct_passthrough and not resp.is_streamed
                and request.endpoint not in ("pages.sign_in_form", "pages.sign_in", "pages.sign_out")):
            _add_bar(resp, sess)
        return resp


def _add_bar(resp: Response, sess: Session) -> None:
    """Put who is signed in and the sign-out button at the top of a page's body."""
    from geo_service.pages.signin import session_bar  # noqa: PLC0415 - pages load with the first page

    body = resp.get_data(as_text=True)
    at = body.find('id="gs-panel"')  # a map page's header: the bar is its first row
    inside = at >= 0
    if not inside:
        at = body.find("<body")  # a plain page: above its content
    end = body.find(">", at) if at >= 0 else -1
    if end < 0:
        return
    bar = session_bar(lang=page_lang(), name=sess.credential.name, role=sess.credential.role,
                      sign_out_url=f"{request.script_root}/sign-out", csrf=sess.csrf, in_header=inside)
    resp.set_data(body[:end + 1] + bar + body[end + 1:])


__all__ = ["COOKIE", "SIGNIN_COOKIE", "UNSAFE_METHODS", "Session", "check_password", "clear_session_cookie",
           "create_session", "csrf_ok", "csrf_token", "end_session", "has_header_credentials", "hash_password",
           "csrf_refusal", "forbidden_page", "init_sessions", "message_page", "open_session", "safe_next",
           "sign_in_redirect", "sign_in_url", "wants_page", "password_credential", "request_session", "same_origin",
           "set_password", "set_session_cookie", "set_signin_cookie", "signin_csrf", "signin_csrf_ok"]
