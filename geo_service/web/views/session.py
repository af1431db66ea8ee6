"""Browser sign-in and sign-out (#22): ``GET/POST /sign-in`` and ``POST /sign-out``.

A person signs in with the token an admin gave them (a user credential; an external system's
API key is refused with a message saying so) or with their name and a password an admin set.
A session is made (`geo_service.web.sessions`) and the browser goes back to ``next`` (a path on
this site only). Every sign-in, refused or not, and every sign-out is audited, never with the
token or password; sign-in posts are limited per client address (``SIGNIN_RATE_LIMIT``).
"""

from __future__ import annotations

import logging

from flask import Response, current_app, g, request
from limits import parse

from geo_service import pages
from geo_service.access import ANONYMOUS
from geo_service.web import sessions
from geo_service.web.context import get_store
from geo_service.web.security import LIMITER_EXT, access, audit, principal_of, setting
from geo_service.web.views.page_kit import bp

logger = logging.getLogger(__name__)

#: The endpoints of this module (the pages blueprint's; no signed-in bar is added to them).
ENDPOINTS = ("pages.sign_in_form", "pages.sign_in", "pages.sign_out")

HTML = "text/html; charset=utf-8"


def _page(body: str, lang: str, status: int = 200) -> Response:
    resp = Response(body, status=status, mimetype="text/html")
    resp.content_type = HTML
    resp.headers["Content-Language"] = lang
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "same-origin"  # the form's post then names its origin
    return resp


def _form_page(*, status: int = 200, error_key: str | None = None, notice_key: str | None = None,
               open_password: bool = False) -> Response:
    lang = sessions.page_lang()
    next_path = sessions.safe_next(request.args.get("next"))
    sess = sessions.request_session(get_store()) if request.cookies.get(sessions.COOKIE) else None
    csrf, fresh = sessions.signin_csrf()
    action = sessions.sign_in_url(next_path)
    who = (sess.credential.name, sess.credential.role) if sess is not None else None
    body = pages.sign_in_page(lang=lang, action=action, csrf=csrf, static_url=sessions.static_url(),
                              error_key=error_key, notice_key=notice_key, who=who, next_url=next_path,
                              sign_out_url=f"{request.script_root}/sign-out",
                              session_csrf=sess.csrf if sess is not None else "", open_password=open_password)
    resp = _page(body, lang, status)
    if fresh:
        sessions.set_signin_cookie(resp, csrf)
    return resp


@bp.get("/sign-in")
@access("public")
def sign_in_form() -> Response:
    """The sign-in page (or, when signed in, who is and a sign-out button)."""
    return _form_page(notice_key="signin_signed_out" if request.args.get("out") == "1" else None)


def _refused(outcome: str, key: str, status: int, *, password: bool = False) -> Response:
    audit("sign_in", record_type="session", outcome=f"denied:{outcome}", principal=ANONYMOUS)
    return _form_page(status=status, error_key=key, open_password=password)


def _within_limit() -> bool:
    """One more sign-in post of this client address within ``SIGNIN_RATE_LIMIT`` (counted in the
    limiter's storage, so shared by workers and instances with Redis); a storage failure lets it
    through, as the limiter itself does (``swallow_errors``)."""
    limiter = current_app.extensions[LIMITER_EXT]
    try:
        return bool(limiter.limiter.hit(parse(setting("SIGNIN_RATE_LIMIT")), "gs-signin", request.remote_addr or "?"))
    except Exception:  # noqa: BLE001 - a limiter storage failure must not refuse every sign-in
        logger.warning("sign-in rate limit not checked: the limiter's storage failed", exc_info=True)
        return True


@bp.post("/sign-in")
@access("public")
def sign_in() -> Response:
    """Check the token (or name and password), make a session, set its cookie, go to ``next``."""
    if not _within_limit():
        return _refused("rate_limit", "signin_err_rate", 429)
    if not sessions.signin_csrf_ok():  # a stale or forged form (login CSRF): a bad request, shown again
        return _refused("csrf", "signin_err_form", 400)
    store = get_store()
    token = (request.form.get("token") or "").strip()
    login, password = request.form.get("login") or "", request.form.get("password") or ""
    if token:
        method = "token"
        cred = store.verify(token)
        if cred is None:
            return _refused("unknown", "signin_err_unknown", 401)
        if cred.kind == "api_key" or cred.role == "external_system":
            audit("sign_in", record_type="credential", record_id=cred.id, outcome="denied:api_key",
                  principal=ANONYMOUS)
            return _form_page(status=403, error_key="signin_err_api_key")
    elif login and password and len(password) <= 200:
        method = "password"
        cred = sessions.password_credential(store, login, password)
        if cred is None or cred.kind == "api_key" or cred.role == "external_system":
            return _refused("unknown", "signin_err_unknown", 401, password=True)
    else:
        return _refused("empty", "signin_err_unknown", 400)
    old = sessions.request_session(store) if request.cookies.get(sessions.COOKIE) else None
    if old is not None:  # signing in again (maybe as someone else): the browser's old session ends
        sessions.end_session(store, old.id)
    sess, value = sessions.create_session(store, cred, method=method)
    audit("sign_in", record_type="session", record_id=sess.id, outcome=f"ok:{method}", principal=principal_of(cred))
    resp = Response(status=303)
    resp.headers["Location"] = sessions.safe_next(request.args.get("next")) or f"{request.script_root}/?lang=" \
        f"{sessions.page_lang()}"
    resp.headers["Cache-Control"] = "no-store"
    sessions.set_session_cookie(resp, value)
    g._gs_cookie_set = True
    return resp


@bp.post("/sign-out")
@access("public")
def sign_out() -> Response:
    """End this browser's session (deleted in the store) and clear its cookie."""
    store = get_store()
    if g.get("_gs_csrf_failed"):
        return sessions.message_page("signin_err_csrf", 403)
    sess = sessions.request_session(store) if request.cookies.get(sessions.COOKIE) else None
    if sess is not None:
        sessions.end_session(store, sess.id)
        audit("sign_out", record_type="session", record_id=sess.id, outcome="ok",
              principal=principal_of(sess.credential))
    resp = Response(status=303)
    resp.headers["Location"] = sessions.sign_in_url() + "&out=1"
    resp.headers["Cache-Control"] = "no-store"
    sessions.clear_session_cookie(resp)
    g._gs_cookie_set = True
    return resp
