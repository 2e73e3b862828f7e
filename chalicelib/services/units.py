"""The administrative tree: reading units, adding them, and appointing staff to them."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.auth import (
    ADMIN_LEVEL,
    Principal,
    Role,
    check_role_scope,
    require_admin_over,
    require_staff_over,
)
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.tree import Level, child_path, validate_path, validate_slug
from chalicelib.domain.units import Page, Unit
from chalicelib.domain.users import User, normalize_phone
from chalicelib.services.auth import phone_identity
from chalicelib.services.ids import new_id
from chalicelib.services.ports import Clock, UnitRepository, UserRepository

MAX_PAGE = 100
GRID_WORKERS_SHOWN = 20


def check_limit(limit: int | None, default: int = 20) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
    return limit


@dataclass(frozen=True)
class UnitView:
    unit: Unit
    grid_workers: list[User]


class UnitService:
    def __init__(self, units: UnitRepository, users: UserRepository, clock: Clock, phone_key: bytes) -> None:
        self._units = units
        self._users = users
        self._clock = clock
        self._phone_key = phone_key

    def get(self, unit_id: str) -> UnitView:
        """A unit by its path; a grid comes with its grid workers' contact cards."""
        unit = self.require(unit_id)
        workers: list[User] = []
        if unit.level is Level.GRID:
            workers = self._users.staff(unit_id, Role.GRID_WORKER, GRID_WORKERS_SHOWN, None).items
        return UnitView(unit=unit, grid_workers=workers)

    def require(self, unit_id: str) -> Unit:
        validate_path(unit_id)
        unit = self._units.get(unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}", code="unit_not_found")
        return unit

    def children(self, unit_id: str, limit: int | None, cursor: str | None) -> Page[Unit]:
        self.require(unit_id)
        return self._units.children(unit_id, check_limit(limit, 50), cursor)

    def create(self, principal: Principal, parent_id: str, slug: str, name: str, address: str | None) -> Unit:
        """Add a unit one level below ``parent_id``; only an admin whose scope holds the parent."""
        validate_path(parent_id, "parent_id")
        validate_slug(slug)
        if not name.strip():
            raise InvalidInput("name", "must not be empty")
        require_admin_over(principal, parent_id)
        parent = self.require(parent_id)
        level = parent.level.child
        if level is None:
            raise InvalidInput("parent_id", "a grid has no units below it; add buildings to the grid instead")
        unit = Unit(
            unit_id=child_path(parent_id, slug),
            name=name.strip(),
            level=level,
            parent_id=parent_id,
            created_at=self._clock.now(),
            created_by=principal.user_id,
            address=(address or "").strip() or None,
        )
        self._units.add(unit)
        return unit

    def appoint_staff(
        self,
        principal: Principal,
        unit_id: str,
        role: Role,
        phone: str,
        name: str,
        department: str | None,
        title: str | None,
    ) -> User:
        """Give a person a staff role over ``unit_id``; they then sign in by SMS with that phone."""
        require_admin_over(principal, unit_id)
        unit = self.require(unit_id)
        if role is Role.RESIDENT:
            raise InvalidInput("role", "residents join by a grid's code, not by appointment")
        check_role_scope(role, unit_id)
        if role in ADMIN_LEVEL and principal.level is not None and ADMIN_LEVEL[role].depth < principal.level.depth:
            raise InvalidInput("role", f"a {principal.role.value} cannot appoint a {role.value}")
        if role is Role.DEPT_STAFF and not (department or "").strip():
            raise InvalidInput("department", "department staff need their department (e.g. 城管, 房管, 公安)")
        if not name.strip():
            raise InvalidInput("name", "must not be empty")
        normalized = normalize_phone(phone)
        staff = User(
            user_id=new_id(),
            role=role,
            scope=unit.unit_id,
            created_at=self._clock.now(),
            phone=normalized,
            name=name.strip(),
            department=(department or "").strip() or None,
            title=(title or "").strip() or None,
        )
        try:
            self._users.create(staff, [phone_identity(self._phone_key, normalized)])
        except Conflict as exc:
            raise Conflict("this phone already has an account", code="phone_taken") from exc
        return staff

    def staff(self, principal: Principal, unit_id: str, limit: int | None, cursor: str | None) -> Page[User]:
        """Staff scoped exactly to ``unit_id`` (residents are listed per grid, not here)."""
        require_staff_over(principal, unit_id)
        self.require(unit_id)
        return self._users.staff(unit_id, None, check_limit(limit, 50), cursor)
