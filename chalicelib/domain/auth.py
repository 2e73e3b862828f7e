"""Who is calling: roles, the principal carried by a token, and the checks on it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import Forbidden
from .tree import Level, is_within, level_of


class Role(StrEnum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    DEPT_STAFF = "dept_staff"
    COMMUNITY_ADMIN = "community_admin"
    STREET_ADMIN = "street_admin"
    DISTRICT_ADMIN = "district_admin"
    CITY_ADMIN = "city_admin"
    COUNSELOR = "counselor"
    SERVICE_AGENT = "service_agent"

    @property
    def is_staff(self) -> bool:
        return self is not Role.RESIDENT

    @property
    def is_admin(self) -> bool:
        return self in ADMIN_LEVEL


# Each administrative role sits at exactly one level of the tree; its scope must be a unit there.
ADMIN_LEVEL: dict[Role, Level] = {
    Role.COMMUNITY_ADMIN: Level.COMMUNITY,
    Role.STREET_ADMIN: Level.STREET,
    Role.DISTRICT_ADMIN: Level.DISTRICT,
    Role.CITY_ADMIN: Level.CITY,
}
ROLE_LEVEL: dict[Role, Level] = {**ADMIN_LEVEL, Role.GRID_WORKER: Level.GRID}


def check_role_scope(role: Role, scope: str) -> None:
    """A role fixed to a level must hold a scope at that level (a grid worker holds a grid)."""
    expected = ROLE_LEVEL.get(role)
    if expected is not None and scope and level_of(scope) is not expected:
        raise Forbidden(f"a {role.value} must be scoped to a {expected.value}, not {level_of(scope).value}")


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role
    scope: str  # a tree path; empty for a resident not bound to a grid yet
    department: str | None = None  # department staff: which department (城管, 房管, ...)

    @property
    def level(self) -> Level | None:
        return level_of(self.scope) if self.scope else None

    def covers(self, path: str) -> bool:
        return is_within(self.scope, path)


def require_staff_over(principal: Principal, path: str, *roles: Role) -> None:
    """Staff (of one of ``roles``, if given) whose scope holds ``path``; else Forbidden."""
    if not principal.role.is_staff or (roles and principal.role not in roles):
        allowed = ", ".join(r.value for r in roles) if roles else "staff"
        raise Forbidden(f"only {allowed} may do this")
    if not principal.covers(path):
        raise Forbidden(f"{path} is outside your scope {principal.scope or '(none)'}")


def require_admin_over(principal: Principal, path: str) -> None:
    require_staff_over(principal, path, *ADMIN_LEVEL)
