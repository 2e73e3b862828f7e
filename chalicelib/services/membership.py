"""Joining a grid, verification by the grid worker, and a person's own record (me)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from chalicelib.domain.auth import Principal, Role, require_staff_over
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.joining import JoinCode, parse_join_code, sign_join_code
from chalicelib.domain.tree import Level, ancestor_at
from chalicelib.domain.units import Page, Unit
from chalicelib.domain.users import Binding, BindingStatus, User
from chalicelib.services.auth import phone_identity, wechat_identity
from chalicelib.services.ids import new_id
from chalicelib.services.ports import AccessLog, Clock, JoinCodeRepository, UnitRepository, UserRepository
from chalicelib.services.units import check_limit

_GRID_STAFF = (Role.GRID_WORKER, Role.COMMUNITY_ADMIN)
_ADDRESS_PART_MAX = 20


@dataclass(frozen=True)
class JoinPolicy:
    ttl_seconds: int = 30 * 24 * 3600
    max_uses: int = 500


@dataclass(frozen=True)
class IssuedJoinCode:
    code: JoinCode
    text: str


@dataclass(frozen=True)
class CommunityView:
    user: User
    grid: Unit | None
    community: Unit | None
    grid_workers: list[User]


class MembershipService:
    def __init__(
        self,
        units: UnitRepository,
        users: UserRepository,
        join_codes: JoinCodeRepository,
        access_log: AccessLog,
        clock: Clock,
        code_key: bytes,
        phone_key: bytes,
        policy: JoinPolicy,
    ) -> None:
        self._units = units
        self._users = users
        self._codes = join_codes
        self._access_log = access_log
        self._clock = clock
        self._code_key = code_key
        self._phone_key = phone_key
        self._policy = policy

    # --- join codes -------------------------------------------------------------------------

    def issue_join_code(
        self, principal: Principal, grid_id: str, ttl_seconds: int | None, max_uses: int | None
    ) -> IssuedJoinCode:
        """A signed, expiring, revocable code for the grid's QR poster (grid worker or community)."""
        require_staff_over(principal, grid_id, *_GRID_STAFF)
        self._require_grid(grid_id)
        ttl = ttl_seconds if ttl_seconds is not None else self._policy.ttl_seconds
        if not 60 <= ttl <= 366 * 24 * 3600:
            raise InvalidInput("ttl_seconds", "must be between 60 seconds and a year")
        uses = max_uses if max_uses is not None else self._policy.max_uses
        if not 1 <= uses <= 100_000:
            raise InvalidInput("max_uses", "must be between 1 and 100000")
        now = self._clock.now()
        code = JoinCode(
            code_id=new_id(),
            grid_id=grid_id,
            created_by=principal.user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            max_uses=uses,
        )
        self._codes.add(code)
        return IssuedJoinCode(code=code, text=sign_join_code(self._code_key, code))

    def revoke_join_code(self, principal: Principal, grid_id: str, code_id: str) -> None:
        require_staff_over(principal, grid_id, *_GRID_STAFF)
        code = self._codes.get(code_id)
        if code is None or code.grid_id != grid_id:
            raise NotFound(f"no join code {code_id} in {grid_id}", code="join_code_not_found")
        self._codes.revoke(code_id)

    def join_codes(self, principal: Principal, grid_id: str, limit: int | None, cursor: str | None) -> Page[JoinCode]:
        require_staff_over(principal, grid_id, *_GRID_STAFF)
        return self._codes.for_grid(grid_id, check_limit(limit), cursor)

    # --- binding and verification -------------------------------------------------------------

    def bind(self, principal: Principal, code_text: str, building: str, unit: str, room: str) -> User:
        """Bind a resident to the code's grid at an address; the binding awaits verification."""
        if principal.role is not Role.RESIDENT:
            raise Forbidden("only residents bind to a grid; staff are appointed to units")
        grid_id, code_id = parse_join_code(self._code_key, code_text)
        building = _address_part("building", building)
        unit = _address_part("unit", unit)
        room = _address_part("room", room)
        user = self._me(principal)
        current = user.binding
        if current is not None and (current.grid_id, current.building, current.unit, current.room) == (
            grid_id,
            building,
            unit,
            room,
        ):
            return user  # a retried binding to the same place keeps its status and uses no code
        now = self._clock.now()
        binding = Binding(grid_id, building, unit, room, BindingStatus.PENDING, now, code_id)
        return self._users.bind(replace(user, binding=binding), code_id, now)

    def verify_resident(
        self, principal: Principal, grid_id: str, user_id: str, approve: bool, note: str | None
    ) -> User:
        """The grid worker confirms (or refuses) that the resident lives where they said."""
        require_staff_over(principal, grid_id, *_GRID_STAFF)
        user = self._users.get(user_id)
        if user is None or user.erased or user.binding is None or user.binding.grid_id != grid_id:
            raise NotFound(f"no resident {user_id} in {grid_id}", code="resident_not_found")
        status = BindingStatus.VERIFIED if approve else BindingStatus.REFUSED
        if user.binding.status is status:
            return user  # the same decision twice changes nothing
        binding = replace(
            user.binding,
            status=status,
            verified_by=principal.user_id,
            verified_at=self._clock.now(),
            note=(note or "").strip()[:200] or None,
        )
        return self._users.save(replace(user, binding=binding))

    def residents(
        self, principal: Principal, grid_id: str, status: BindingStatus | None, limit: int | None, cursor: str | None
    ) -> Page[User]:
        """The grid's residents with their addresses; each read is written to the access log."""
        require_staff_over(principal, grid_id)
        page = self._users.residents(grid_id, status, check_limit(limit), cursor)
        if page.items:
            self._access_log.record([u.user_id for u in page.items], principal, "list_residents", self._clock.now())
        return page

    # --- me ------------------------------------------------------------------------------

    def me(self, principal: Principal) -> User:
        return self._me(principal)

    def update_me(self, principal: Principal, name: str | None) -> User:
        user = self._me(principal)
        if name is not None:
            name = name.strip()
            if not 1 <= len(name) <= 40:
                raise InvalidInput("name", "must be 1 to 40 characters")
            user = self._users.save(replace(user, name=name))
        return user

    def my_community(self, principal: Principal) -> CommunityView:
        """My grid, its community and the grid workers' cards (phones masked)."""
        user = self._me(principal)
        grid_id = user.binding.grid_id if user.binding else (user.scope if user.role.is_staff else "")
        if not grid_id:
            return CommunityView(user=user, grid=None, community=None, grid_workers=[])
        grid = self._units.get(grid_id)
        community_id = ancestor_at(grid_id, Level.COMMUNITY)
        community = self._units.get(community_id) if community_id else None
        workers: list[User] = []
        if grid is not None and grid.level is Level.GRID:
            workers = self._users.staff(grid_id, Role.GRID_WORKER, 20, None).items
        return CommunityView(user=user, grid=grid, community=community, grid_workers=workers)

    def erase_me(self, principal: Principal) -> None:
        """Erase what identifies me: phone, name, WeChat link, address. Anonymous records stay."""
        user = self._me(principal)
        identities = []
        if user.phone:
            identities.append(phone_identity(self._phone_key, user.phone))
        if user.wechat_openid:
            identities.append(wechat_identity(user.wechat_openid))
        self._users.save(user.erase())
        self._users.release_identities(identities)

    def _me(self, principal: Principal) -> User:
        user = self._users.get(principal.user_id)
        if user is None or user.erased:
            raise NotFound("this account does not exist or was erased", code="account_not_found")
        return user

    def _require_grid(self, grid_id: str) -> Unit:
        grid = self._units.get(grid_id)
        if grid is None:
            raise NotFound(f"no unit {grid_id}", code="unit_not_found")
        if grid.level is not Level.GRID:
            raise InvalidInput("grid_id", f"{grid_id} is a {grid.level.value}, not a grid")
        return grid


def _address_part(name: str, value: str) -> str:
    value = (value or "").strip()
    if not 1 <= len(value) <= _ADDRESS_PART_MAX:
        raise InvalidInput(name, f"must be 1 to {_ADDRESS_PART_MAX} characters")
    return value
