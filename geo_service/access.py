"""Who may call what: roles, scopes, the principal of a request and the role policy (framework-free)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo_service.errors import InputError

ROLES = ("public", "external_system", "inspector", "planner", "admin")

#: endpoint role -> principal roles admitted
_ADMITS: dict[str, frozenset[str]] = {
    "public": frozenset(ROLES),
    "external_system": frozenset({"external_system", "admin"}),
    "inspector": frozenset({"inspector", "planner", "admin"}),
    "planner": frozenset({"planner", "admin"}),
    "admin": frozenset({"admin"}),
}


#: Scopes a credential may be limited to: one per part of the API (a blueprint of
#: `geo_service.web`); an endpoint may declare a narrower one, ``<part>:<name>`` (e.g.
#: ``lookup:batch``), which its part's scope also admits. ``*`` is every part. A credential
#: without scopes may call whatever its role may.
SCOPES = {
    "lookup": "addresses and points to precincts, the precinct list",
    "reach": "isochrones and travel times",
    "routes": "route plans, schedules, their pages and links",
    "siting": "where to open posts, and its map",
    "workload": "workload, appeals, indicators, trust scores, pilots, their maps",
    "admin": "keys, bundle reload",
}
_SCOPE_RE = re.compile(r"^[a-z][a-z_]*(:[a-z][a-z0-9_.-]*)?$")


def check_scope(scope: str) -> str:
    """``scope`` when it names a part of the API (or ``*``); `InputError` naming the field otherwise."""
    if scope == "*" or (_SCOPE_RE.match(scope) and scope.split(":", 1)[0] in SCOPES):
        return scope
    msg = f"scope {scope[:40]!r} is not one of *, {', '.join(SCOPES)} (or <part>:<name>)"
    raise InputError(msg)


@dataclass(frozen=True)
class Principal:
    """Who is asking. ``kind`` is 'anonymous', 'api_key' or 'user'."""

    kind: str
    id: str
    role: str
    precinct_ids: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    credential_id: str | None = None
    rate_limit: str | None = None

    @property
    def label(self) -> str:
        """How the audit log and the rate limiter name this principal (no secret in it)."""
        if self.kind == "anonymous":
            return "anonymous"
        return f"{'key' if self.kind == 'api_key' else 'user'}:{self.id}"

    def has_scope(self, scope: str) -> bool:
        """Empty scopes mean the whole role; otherwise the scope, its part, or '*' must be listed."""
        return (not self.scopes or "*" in self.scopes or scope in self.scopes
                or scope.split(":", 1)[0] in self.scopes)


ANONYMOUS = Principal(kind="anonymous", id="anonymous", role="public")


def role_admits(endpoint_role: str, principal_role: str) -> bool:
    """Whether a principal of ``principal_role`` may call an endpoint declaring ``endpoint_role``."""
    return principal_role in _ADMITS[endpoint_role]
