"""Who may call what: roles, the principal of a request and the role policy (framework-free)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("public", "external_system", "inspector", "planner", "admin")

#: endpoint role -> principal roles admitted
_ADMITS: dict[str, frozenset[str]] = {
    "public": frozenset(ROLES),
    "external_system": frozenset({"external_system", "admin"}),
    "inspector": frozenset({"inspector", "planner", "admin"}),
    "planner": frozenset({"planner", "admin"}),
    "admin": frozenset({"admin"}),
}


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
        """Empty scopes mean the whole role; otherwise the scope (or '*') must be listed."""
        return not self.scopes or scope in self.scopes or "*" in self.scopes

ANONYMOUS = Principal(kind="anonymous", id="anonymous", role="public")


def role_admits(endpoint_role: str, principal_role: str) -> bool:
    """Whether a principal of ``principal_role`` may call an endpoint declaring ``endpoint_role``."""
    return principal_role in _ADMITS[endpoint_role]
