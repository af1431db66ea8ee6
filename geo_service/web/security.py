"""Who may see what: authentication, roles, rate limits, security headers, audit, hardening.

Every view declares its role with `access`::

    @bp.get("/lookup")
    @access("public")
    def lookup(): ...

Roles: ``public`` (no credentials), ``external_system`` (API keys of other systems),
``inspector`` < ``planner`` < ``admin``. An endpoint declaring ``public`` admits everyone;
``external_system`` admits external systems and admins; ``inspector`` admits inspectors,
planners and admins; ``planner`` planners and admins; ``admin`` admins only.

Credentials come as ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``, never in
the URL. Unknown, revoked or expired credentials get 401 (even on public endpoints:
a bad key is never silently treated as no key); a role too low gets 403. A credential
limited to scopes (`geo_service.access.SCOPES`) may call only the endpoints of those
parts of the API (an endpoint's scope: its ``scope=``, else its blueprint; the pages
blueprint's own endpoints take the part their path names); public endpoints admit it anyway.
Refusals of endpoints that need credentials (401 and 403) are audited.

Each view runs in one unit of work (`geo_service.unit`): its writes and its audit rows
commit in one transaction, or none of them do.

Route page links (``/r/<token>``) are random tokens kept hashed in the store with their
plan and creator (`make_link`, `load_plan_by_link`): revocable one by one, dead with their
creator's credential, never written to the access log (`geo_service.web.access_log`).

`init_security` wires it all into an app: the store, Flask-Limiter (per key, per user,
per client address for the public), security headers, error rendering and a
deny-by-default rule for any view that declares no role (`geo_service.web.app.make_app`
registers the admin blueprint after it).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_limiter import Limiter, RateLimitExceeded

from geo_service import clock
from geo_service.access import ANONYMOUS, ROLES, SCOPES, Principal, role_admits
from geo_service.config import SETTINGS
from geo_service.errors import (
    Forbidden,
    InputError,
    LinkRefused,
    NotFound,
    Unauthorized,
)
from geo_service.pages.i18n import choose_lang
from geo_service.store_tables import lock_ddl
from geo_service.unit import begin, detached, unit_of_work
from geo_service.web import sessions
from geo_service.web.access_log import install_link_mask
from geo_service.web.context import STORE_EXT, get_store, problem
from geo_service.web.limits import is_page_request, too_many_page, trust_proxies

if TYPE_CHECKING:
    from geo_service.store import Credential, Plan, Store

logger = logging.getLogger(__name__)

LIMITER_EXT = "geo_service.limiter"

#: Folium pages: vendored scripts and styles from 'self' plus the inline <script>/<style>
#: folium writes; map tiles (optional online layer) from tile.openstreetmap.org.
DEFAULT_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https://tile.openstreetmap.org https://*.tile.openstreetmap.org",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def setting(name: str, app: Flask | None = None) -> Any:
    """A setting of the app (``app.config``, filled by `load_config`), falling back to its
    default in `geo_service.config.SETTINGS` when unset or None."""
    value = (app or current_app).config.get(name)
    return SETTINGS[name][0] if value is None and name in SETTINGS else value


# -- principals --------------------------------------------------------------------------


def _credentials_from_request() -> str | None:
    auth = request.headers.get("Authorization")
    if auth is not None and request.headers.get("X-API-Key") is not None:
        return ""  # two credentials: ambiguous, refused rather than one silently ignored
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ""  # present but unusable: refused, not ignored
        return token.strip()
    key = request.headers.get("X-API-Key")
    if key is not None:
        return key.strip()
    return None


def current_principal() -> Principal:
    """The principal of this request (resolved once, kept on ``g``)."""
    p = g.get("_gs_principal")
    if p is not None:
        return p
    token = _credentials_from_request()
    p = ANONYMOUS
    g._gs_auth_failed = False
    cred = None
    if token is not None:
        cred = get_store().verify(token) if token else None
        g._gs_auth_failed = cred is None
    elif request.cookies.get(sessions.COOKIE) is not None and not g.get("_gs_csrf_failed"):
        sess = sessions.request_session(get_store())  # no header: the browser's session, if live
        cred = sess.credential if sess is not None else None
    if cred is not None:
        p = principal_of(cred)
    g._gs_principal = p
    return p


def principal_of(cred: Credential) -> Principal:
    """The principal a credential makes (by its header or its session)."""
    return Principal(kind="api_key" if cred.kind == "api_key" else "user",
                     id=cred.subject or cred.id, role=cred.role, precinct_ids=cred.precinct_ids,
                     scopes=cred.scopes, credential_id=cred.id, rate_limit=cred.rate_limit)


def endpoint_scope(explicit: str | None = None) -> str:
    """The scope this request's endpoint belongs to: its declared one, else its blueprint;
    the pages blueprint's endpoints take the part their path names (``/routes/...``,
    ``/api/v1/routes/...`` -> ``routes``)."""
    if explicit:
        return explicit
    blueprint = request.blueprint or ""
    if blueprint == "pages" and request.url_rule is not None:
        part = request.url_rule.rule.removeprefix("/api/v1").strip("/").split("/", 1)[0]
        return part if part in SCOPES else blueprint
    return blueprint


def _authorize(role: str, scope: str | None) -> Principal:
    p = current_principal()
    if g.get("_gs_auth_failed"):
        if role != "public":  # a refused access to what may hold personal data
            audit("access", record_type="endpoint", record_id=request.endpoint, outcome="denied:credentials")
        raise Unauthorized("the API key or token is unknown, revoked or expired", invalid=True)
    if role == "public":
        return p
    if p.kind == "anonymous":
        audit("access", record_type="endpoint", record_id=request.endpoint, outcome="denied:anonymous")
        raise Unauthorized("this endpoint needs an API key or a token (Authorization: Bearer …)")
    if not role_admits(role, p.role):
        audit("access", record_type="endpoint", record_id=request.endpoint, outcome="denied:role")
        raise Forbidden(f"this endpoint needs role {role}")
    needed = endpoint_scope(scope)
    if not p.has_scope(needed):
        audit("access", record_type="endpoint", record_id=request.endpoint, outcome="denied:scope")
        raise Forbidden(f"this endpoint needs scope {needed}; the credential holds {', '.join(p.scopes)}")
    return p


F = TypeVar("F", bound=Callable[..., Any])


def access(role: str, *, scope: str | None = None) -> Callable[[F], F]:
    """Declare and enforce who may call a view (place it under ``@bp.route``).

    Parameters
    ----------
    role
        One of `ROLES`.
    scope
        A narrower scope than the blueprint's (e.g. ``"lookup:batch"``) that a credential
        limited to scopes must hold (`endpoint_scope`).

    The view runs in one unit of work: its writes and audit rows commit together.
    """
    if role not in ROLES:
        msg = f"unknown role {role!r}; use one of {', '.join(ROLES)}"
        raise ValueError(msg)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _authorize(role, scope)
            with unit_of_work():
                return view(*args, **kwargs)

        wrapper.access_role = role  # type: ignore[attr-defined]
        wrapper.access_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def assert_every_route_declares_access(app: Flask) -> None:
    """Fail (AssertionError) when a URL rule's view declares no role with `access`."""
    missing = sorted(
        f"{rule.rule} -> {rule.endpoint}" for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions.get(rule.endpoint), "access_role", None) not in ROLES
    )
    assert not missing, "routes without @access(role): " + "; ".join(missing)


# -- store, audit, precincts, plans ------------------------------------------------------


def _remote_addr() -> str | None:
    return request.remote_addr if has_request_context() else None


def audit(action: str, *, record_type: str | None = None, record_id: str | None = None,
          outcome: str = "ok", principal: Principal | None = None) -> None:
    """Append an audit record for the current request (who, from where): in a view, with
    the view's changes in one transaction (`geo_service.unit`)."""
    p = principal or (current_principal() if has_request_context() else ANONYMOUS)
    get_store().audit(principal=p.label, action=action, outcome=outcome, record_type=record_type,
                      record_id=record_id, remote_addr=_remote_addr())


def require_precinct(precinct_id: str) -> Principal:
    """Refuse (403, audited) an inspector asking for another precinct's data.

    Planners and admins see every precinct; anyone else needs to be an inspector of it.
    """
    p = current_principal()
    if p.role in ("planner", "admin"):
        return p
    if p.role == "inspector" and precinct_id in p.precinct_ids:
        return p
    audit("access", record_type="precinct", record_id=str(precinct_id)[:200], outcome="denied:precinct")
    raise Forbidden("you may see only your own precinct's data")


def authorize_plan(plan: Plan, *, action: str = "read") -> Principal:
    """Allow a plan to its inspector (own precinct) and planners; audit either way."""
    p = current_principal()
    ok = p.role in ("planner", "admin") or (
        p.role == "inspector" and plan.precinct_id in p.precinct_ids
        and (plan.inspector_id is None or plan.inspector_id == p.id))
    audit(action, record_type="plan", record_id=plan.id, outcome="ok" if ok else "denied")
    if not ok:
        raise Forbidden("this plan belongs to another inspector")
    return p


def load_plan(plan_id: str, *, action: str = "read") -> Plan:
    """The stored plan, if this principal may read it (audited); NotFound / Forbidden otherwise.

    An id not shaped like a plan id names no plan: refused without asking the database.
    """
    from geo_service.store import PLAN_ID_RE  # noqa: PLC0415 - SQLAlchemy loads with the store (start-up time)

    plan = get_store().get_plan(plan_id) if PLAN_ID_RE.match(plan_id) else None
    if plan is None:
        audit(action, record_type="plan", record_id=str(plan_id)[:40], outcome="not_found")
        raise NotFound("no such plan")
    authorize_plan(plan, action=action)
    return plan


# -- route links -------------------------------------------------------------------------
class LazyStore:
    """The store, opened on first use.

    Public requests without credentials never touch the database, so a server answers them
    without waiting for the database driver to import (about 0.15-0.4 s of start-up); the first
    request that needs the store opens it (thread-safe), in the worker that uses it.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: Store | None = None
        self._open_lock = threading.Lock()

    def opened(self) -> Store:
        """The real store (opening it now if needed)."""
        if self._store is None:
            with self._open_lock:
                if self._store is None:
                    from geo_service.store import open_store  # noqa: PLC0415 - see the class docstring

                    store = open_store(self._url)
                    _create_appeal_tables(store)
                    self._store = store
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.opened(), name)


def _create_appeal_tables(store: Store) -> None:
    """The appeals store's tables, made with the store's (in their own transaction, before any
    request writes: a table created later, while a request holds SQLite's write lock, would wait
    for that request)."""
    from sqlalchemy import MetaData  # noqa: PLC0415 - SQLAlchemy loads with the store

    from geo_service.appeals.tables import tables  # noqa: PLC0415 - see above

    md = MetaData(schema=store.schema)
    tables(md)
    with detached(), store.engine.connect() as conn:
        missing = [t for t in md.sorted_tables if not conn.dialect.has_table(conn, t.name, schema=store.schema)]
    if missing:
        with detached(), begin(store.engine) as conn:
            lock_ddl(conn)  # another instance may be creating them now; create_all checks again
            md.create_all(conn, tables=missing)


def shift_end(plan: Plan, tz: str) -> datetime | None:
    """When the plan's shift ends (its ``date`` and ``shift.end`` in the city's time zone ``tz``),
    or None for a plan without them."""
    body = plan.body if isinstance(plan.body, dict) else {}
    shift = body.get("shift") or (body.get("plan") or {}).get("shift") or {}  # a kept plan: body["plan"]["shift"]
    day, end = body.get("date"), shift.get("end")
    try:
        hours, minutes = (int(x) for x in str(end).split(":"))
        start = datetime.combine(date.fromisoformat(str(day)), time(0), tzinfo=ZoneInfo(tz))
    except (TypeError, ValueError, KeyError):
        return None
    return start + timedelta(minutes=hours * 60 + minutes)


def link_lifetime(plan: Plan) -> float:
    """Seconds a new link to ``plan`` lives when none is asked: until its shift ends plus
    ``LINK_GRACE`` on the plan's day (``TIME_ZONE``), at least ``LINK_TTL``, at most
    ``LINK_TTL_MAX`` (a 09:00-20:00 shift linked at 08:00 lives until 22:00)."""
    least, most = float(setting("LINK_TTL")), float(setting("LINK_TTL_MAX"))
    end = shift_end(plan, str(setting("TIME_ZONE") or "UTC"))
    if end is None:
        return min(least, most)
    left = (end + timedelta(seconds=float(setting("LINK_GRACE"))) - clock.now()).total_seconds()
    return min(max(least, left), most)


def make_link(plan: Plan, ttl_s: float | None = None) -> tuple[str, str, Any]:
    """A route page link to a kept plan for the current principal: ``(link id, token,
    expires_at)``. The token is random and kept only hashed; the link lives ``ttl_s``
    seconds (default `link_lifetime`: the plan's shift and a grace; at most `LINK_TTL_MAX`),
    never past its creator's credential, and dies when that credential or the link itself
    is revoked."""
    ttl_s, ttl_max = (link_lifetime(plan) if ttl_s is None else ttl_s), setting("LINK_TTL_MAX")
    if not 0 < float(ttl_s) <= ttl_max:
        msg = f"expires_in: a link lives between 1 and {ttl_max} seconds"
        raise InputError(msg)
    p = current_principal()
    store = get_store()
    cred = store.get_credential(p.credential_id) if p.credential_id else None
    lid, token, expires = store.create_link(plan_id=plan.id, credential_id=p.credential_id, created_by=p.label,
                                            ttl_s=float(ttl_s), not_after=cred.expires_at if cred else None)
    audit("link.create", record_type="link", record_id=lid, outcome="ok")
    return lid, token, expires


def sign_link(plan_id: str, ttl_s: float | None = None) -> str:
    """The token of a new route page link to a kept plan (`make_link`); `NotFound` when unknown."""
    plan = get_store().get_plan(plan_id)
    if plan is None:
        raise NotFound("no such plan")
    return make_link(plan, ttl_s)[1]


def renew_hint(plan_id: str) -> dict[str, str]:
    """How the creator of an expired link gets a fresh one for the same plan (the ``renew``
    member of the refusal): the endpoint, its method, and who may call it."""
    root = request.script_root if has_request_context() else ""
    return {"method": "POST", "href": f"{root}/api/v1/routes/plans/{plan_id}/link",
            "who": "the plan's inspector or a planner, with their own credential (a link is not one)"}


def _refusal(why: str, token: str = "") -> LinkRefused:
    if why == "expired":
        link = get_store().get_link(token.split(".", 1)[0]) if token else None
        extra: dict[str, Any] = {"renew": renew_hint(link["plan_id"])} if link else {}
        return LinkRefused("this link has expired; ask for a new one", reason="expired", **extra)
    if why in ("revoked", "creator_revoked"):
        return LinkRefused("this link has been revoked; ask for a new one", reason="revoked")
    return LinkRefused("this link is not valid", reason="invalid")


def verify_link(token: str) -> str:
    """The plan id of a live link; `LinkRefused` (403) when unknown, revoked, expired or its
    creator's credential is revoked (an expired one carries a ``renew`` hint)."""
    plan_id, why = get_store().open_link(token)
    if plan_id is None:
        raise _refusal(why, token)
    return plan_id


def load_plan_by_link(token: str) -> Plan:
    """The plan a link points to (audited as ``read_link`` with the link id, never the token)."""
    plan_id, why = get_store().open_link(token)
    if plan_id is None:
        audit("read_link", record_type="link", record_id=token.split(".", 1)[0][:40], outcome=f"denied:{why}")
        raise _refusal(why, token)
    plan = get_store().get_plan(plan_id)
    audit("read_link", record_type="plan", record_id=plan_id, outcome="ok" if plan else "not_found")
    if plan is None:
        raise NotFound("no such plan")
    return plan


def revoke_link(link_id: str) -> dict[str, Any]:
    """Revoke one link: its creator (the same person) or an admin (audited either way)."""
    store = get_store()
    link = store.get_link(link_id)
    if link is None:
        audit("link.revoke", record_type="link", record_id=str(link_id)[:40], outcome="not_found")
        raise NotFound("no such link")
    p = current_principal()
    if p.role != "admin" and link["created_by"] != p.label:
        audit("link.revoke", record_type="link", record_id=link_id, outcome="denied")
        raise Forbidden("only the link's creator or an admin may revoke it")
    link = store.revoke_link(link_id)
    audit("link.revoke", record_type="link", record_id=link_id, outcome="ok")
    return link


# -- wiring ------------------------------------------------------------------------------

def _limit_key() -> str:
    p = current_principal()
    if p.kind == "anonymous":
        return f"{'page-ip' if is_page_request() else 'ip'}:{request.remote_addr or '?'}"
    return f"cred:{p.credential_id}"


def _limit_value() -> str:
    p = current_principal()
    if p.rate_limit:
        return p.rate_limit
    if p.kind == "anonymous":
        return setting("RATELIMIT_PAGES") if is_page_request() else setting("RATELIMIT_PUBLIC")
    if p.role == "external_system":
        return setting("RATELIMIT_EXTERNAL")
    return setting("RATELIMIT_USER")


def _init_limiter(app: Flask) -> Limiter:
    storage = setting("RATELIMIT_STORAGE_URI", app)
    exempt = {e.strip() for e in str(setting("RATELIMIT_EXEMPT", app) or "").split(",") if e.strip()}
    exempt.add("static")
    limiter = Limiter(
        _limit_key,
        application_limits=[_limit_value],
        application_limits_exempt_when=lambda: request.endpoint in exempt,
        storage_uri=storage,
        strategy=setting("RATELIMIT_STRATEGY", app),
        headers_enabled=False,
        swallow_errors=True,  # a storage failure must not turn into 500s
        in_memory_fallback_enabled=not storage.startswith("memory"),
        key_prefix="gs",
    )
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> Response:
        lim = limiter.current_limit
        retry = max(1, math.ceil(lim.window[0] - clock.timestamp())) if lim is not None else 60
        if is_page_request() and request.method in ("GET", "HEAD"):
            return too_many_page(choose_lang(request.args.get("lang"), request.headers.get("Accept-Language")), retry)
        resp = problem(429, "Too many requests", f"the rate limit ({exc.description}) is used up; "
                        f"retry in {retry} s")
        resp.headers["Retry-After"] = str(retry)
        return resp

    return limiter


def init_security(app: Flask) -> None:
    """Wire the security layer into ``app`` (call once, after the blueprints are registered)."""
    url = app.config.get("DATABASE_URL")
    if not url and app.testing:
        url = "sqlite://"  # tests that name no database get a private in-memory one
    if not url:
        from geo_service.store import default_sqlite_path  # noqa: PLC0415 - SQLAlchemy loads with the store

        url = f"sqlite:///{default_sqlite_path(app.instance_path)}"
    app.extensions[STORE_EXT] = LazyStore(url)
    trust_proxies(app, setting("TRUSTED_PROXIES", app))
    install_link_mask()  # no link token in the access log (gunicorn's and werkzeug's)

    @app.before_request
    def _deny_undeclared() -> Response | None:
        # Registered before the limiter's hook: resolves nothing, only refuses views without a role.
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if (view is not None and request.endpoint != "static" and setting("ACCESS_DEFAULT_DENY", app)
                and getattr(view, "access_role", None) not in ROLES):
            logger.error("view %s declares no role with @access: refused", request.endpoint)
            return problem(403, "Forbidden", "this endpoint declares no access rule")
        return None

    @app.before_request
    def _csrf() -> Response | None:
        # Before the limiter: a cookie that fails CSRF must not even name the rate-limit key.
        refused = sessions.csrf_refusal(get_store(), app.view_functions.get(request.endpoint or ""))
        if refused is not None:
            audit("csrf", record_type="endpoint", record_id=request.endpoint, outcome="denied:csrf")
        return refused

    app.extensions[LIMITER_EXT] = _init_limiter(app)
    sessions.init_sessions(app)

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        if sessions.wants_page():  # a signed-in browser with too low a role: a page it can read
            return sessions.forbidden_page(exc)
        doc = exc.to_problem()
        return problem(doc.pop("status"), doc.pop("title"), doc.pop("detail"),
                       **{k: v for k, v in doc.items() if k != "type"})

    @app.errorhandler(Unauthorized)
    def _unauthorized(exc: Unauthorized) -> Response:
        if not exc.invalid and sessions.wants_page():
            return sessions.sign_in_redirect()  # a browser without credentials: sign in, then back
        resp = problem(401, exc.title, exc.user_message)
        challenge = 'Bearer realm="geo-service"'
        if exc.invalid:
            challenge += ', error="invalid_token"'
        resp.headers["WWW-Authenticate"] = challenge
        return resp

    csp = setting("CONTENT_SECURITY_POLICY", app) or DEFAULT_CSP

    @app.after_request
    def _headers(resp: Response) -> Response:
        h = resp.headers
        h.setdefault("Content-Security-Policy", csp)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        p = g.get("_gs_principal")
        if (p is not None and p.kind != "anonymous") or request.headers.get("Authorization") \
                or request.headers.get("X-API-Key"):
            h["Cache-Control"] = "no-store"  # answers to credentials may hold personal data
            resp.vary.update(("Authorization", "X-API-Key", "Cookie"))  # one Vary header: compression rewrites it
        return resp


__all__ = ["DEFAULT_CSP", "LIMITER_EXT", "LazyStore", "access", "assert_every_route_declares_access", "audit",
           "authorize_plan", "current_principal", "principal_of", "endpoint_scope", "init_security", "load_plan",
           "load_plan_by_link", "make_link", "require_precinct", "revoke_link", "setting", "sign_link",
           "verify_link"]
