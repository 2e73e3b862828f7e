"""Repositories of the tree, the people and the join codes, on DynamoDB through PynamoDB."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.adapters.dynamo import (
    cancellation_codes,
    decode_cursor,
    get_or_none,
    is_condition_failure,
    lost_update,
    page_of,
    transaction,
)
from chalicelib.adapters.records import (
    BindingAttribute,
    IdentityRecord,
    JoinCodeRecord,
    UnitRecord,
    UserRecord,
)
from chalicelib.domain.auth import Role
from chalicelib.domain.errors import Conflict, Gone
from chalicelib.domain.joining import JoinCode
from chalicelib.domain.tree import Level
from chalicelib.domain.units import Page, Unit
from chalicelib.domain.users import Binding, BindingStatus, User

# --- units ---------------------------------------------------------------------------------


def _unit(record: UnitRecord) -> Unit:
    return Unit(
        unit_id=record.unit_id,
        name=record.name,
        level=Level(record.level),
        parent_id=record.parent_id,
        created_at=record.created_at,
        created_by=record.created_by,
        address=record.address,
    )


class DynamoUnitRepository:
    def get(self, unit_id: str) -> Unit | None:
        record = get_or_none(UnitRecord, unit_id)
        return _unit(record) if record else None

    def add(self, unit: Unit) -> None:
        record = UnitRecord(
            unit_id=unit.unit_id,
            parent_id=unit.parent_id,
            name=unit.name,
            level=unit.level.value,
            created_at=unit.created_at,
            created_by=unit.created_by,
            address=unit.address,
        )
        try:
            record.save(condition=UnitRecord.unit_id.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                raise Conflict(f"unit {unit.unit_id} exists already", code="unit_exists") from exc
            raise

    def children(self, parent_id: str, limit: int, cursor: str | None) -> Page[Unit]:
        results = UnitRecord.by_parent.query(parent_id, limit=limit, last_evaluated_key=decode_cursor(cursor))
        return page_of(results, _unit)


# --- people --------------------------------------------------------------------------------


def membership_key(user: User) -> tuple[str | None, str | None]:
    """(member_of, member_sk) for the ``by_unit`` index, or (None, None) for nobody's member.

    Residents sit under ``residents@<grid>`` keyed by binding status, staff under
    ``staff@<unit>`` keyed by role, so each list is one key-range query.
    """
    if user.erased:
        return None, None
    if user.role is Role.RESIDENT:
        if user.binding is None:
            return None, None
        return f"residents@{user.binding.grid_id}", f"{user.binding.status.value}#{user.user_id}"
    if not user.scope:
        return None, None
    return f"staff@{user.scope}", f"{user.role.value}#{user.user_id}"


def _binding(attr: BindingAttribute | None) -> Binding | None:
    if attr is None:
        return None
    return Binding(
        grid_id=attr.grid_id,
        building=attr.building,
        unit=attr.unit,
        room=attr.room,
        status=BindingStatus(attr.status),
        bound_at=attr.bound_at,
        join_code_id=attr.join_code_id,
        verified_by=attr.verified_by,
        verified_at=attr.verified_at,
        note=attr.note,
    )


def user_from_record(record: UserRecord) -> User:
    return User(
        user_id=record.user_id,
        role=Role(record.role),
        scope=record.scope or "",
        created_at=record.created_at,
        phone=record.phone,
        name=record.name,
        wechat_openid=record.wechat_openid,
        department=record.department,
        title=record.title,
        binding=_binding(record.binding),
        erased=bool(record.erased),
        version=int(record.version or 0),
    )


def user_from_image(image: dict[str, Any]) -> User:
    """A user from a DynamoDB stream image (already in the low-level attribute-value format)."""
    return user_from_record(UserRecord.from_raw_data(image))


def _record(user: User) -> UserRecord:
    member_of, member_sk = membership_key(user)
    binding = None
    if user.binding is not None:
        b = user.binding
        binding = BindingAttribute(
            grid_id=b.grid_id,
            building=b.building,
            unit=b.unit,
            room=b.room,
            status=b.status.value,
            bound_at=b.bound_at,
            join_code_id=b.join_code_id,
            verified_by=b.verified_by,
            verified_at=b.verified_at,
            note=b.note,
        )
    record = UserRecord(
        user_id=user.user_id,
        role=user.role.value,
        scope=user.scope,
        created_at=user.created_at,
        phone=user.phone,
        name=user.name,
        wechat_openid=user.wechat_openid,
        department=user.department,
        title=user.title,
        binding=binding,
        erased=user.erased,
        member_of=member_of,
        member_sk=member_sk,
    )
    # PynamoDB checks the version it is given and writes version + 1; a new user has none.
    if user.version:
        record.version = user.version
    return record


def _identity(identity: str, user_id: str, now: datetime) -> IdentityRecord:
    return IdentityRecord(identity=identity, user_id=user_id, created_at=now)


class DynamoUserRepository:
    def get(self, user_id: str) -> User | None:
        record = get_or_none(UserRecord, user_id, consistent=True)
        return user_from_record(record) if record else None

    def get_many(self, user_ids: list[str]) -> dict[str, User]:
        unique = list(dict.fromkeys(user_ids))
        return {r.user_id: user_from_record(r) for r in UserRecord.batch_get(unique)} if unique else {}

    def find_by_identity(self, identity: str) -> User | None:
        link = get_or_none(IdentityRecord, identity, consistent=True)
        return self.get(link.user_id) if link else None

    def create(self, user: User, identities: list[str]) -> None:
        try:
            with transaction() as tw:
                tw.save(_record(user))
                for identity in identities:
                    tw.save(
                        _identity(identity, user.user_id, user.created_at),
                        condition=IdentityRecord.identity.does_not_exist(),
                    )
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" not in cancellation_codes(exc):
                raise
            raise Conflict("that phone or WeChat account belongs to someone already", code="identity_taken") from exc

    def save(self, user: User) -> User:
        record = _record(user)
        try:
            record.save()
        except PutError as exc:
            if is_condition_failure(exc):
                raise lost_update("this person's record") from exc
            raise
        return user_from_record(record)

    def link_identity(self, user: User, identity: str) -> None:
        record = _identity(identity, user.user_id, user.created_at)
        try:
            record.save(condition=IdentityRecord.identity.does_not_exist() | (IdentityRecord.user_id == user.user_id))
        except PutError as exc:
            if is_condition_failure(exc):
                raise Conflict("that account is linked to someone else", code="identity_taken") from exc
            raise

    def release_identities(self, identities: list[str]) -> None:
        with IdentityRecord.batch_write() as batch:
            for identity in identities:
                batch.delete(IdentityRecord(identity=identity))

    def staff(self, unit_id: str, role: Role | None, limit: int, cursor: str | None) -> Page[User]:
        return self._members(f"staff@{unit_id}", f"{role.value}#" if role else "", limit, cursor)

    def residents(self, grid_id: str, status: BindingStatus | None, limit: int, cursor: str | None) -> Page[User]:
        return self._members(f"residents@{grid_id}", f"{status.value}#" if status else "", limit, cursor)

    def _members(self, member_of: str, prefix: str, limit: int, cursor: str | None) -> Page[User]:
        condition = UserRecord.member_sk.startswith(prefix) if prefix else None
        results = UserRecord.by_unit.query(member_of, condition, limit=limit, last_evaluated_key=decode_cursor(cursor))
        return page_of(results, user_from_record)

    def bind(self, user: User, code_id: str, now: datetime) -> User:
        record = _record(user)
        code = JoinCodeRecord
        usable = (
            code.code_id.exists()
            & (code.uses < code.max_uses)
            & (code.revoked == False)  # noqa: E712  (a PynamoDB condition, not a comparison)
            & (code.expires_at > now)
        )
        try:
            with transaction() as tw:
                tw.update(JoinCodeRecord(code_id=code_id), actions=[code.uses.add(1)], condition=usable)
                tw.save(record)
        except TransactWriteError as exc:
            # PynamoDB sends the items grouped by kind, not in the order written, so ask the
            # code itself whether it was the one that failed.
            stored = get_or_none(JoinCodeRecord, code_id, consistent=True)
            if stored is None:
                raise Gone("this join code does not exist", code="join_code_unknown") from exc
            _join_code(stored).check_usable(now)
            raise lost_update("this person's record") from exc
        return user_from_record(record)


# --- join codes ------------------------------------------------------------------------------

_KEEP_EXPIRED_CODES = timedelta(days=7)


def _join_code(record: JoinCodeRecord) -> JoinCode:
    return JoinCode(
        code_id=record.code_id,
        grid_id=record.grid_id,
        created_by=record.created_by,
        created_at=record.created_at,
        expires_at=record.expires_at,
        max_uses=int(record.max_uses),
        uses=int(record.uses or 0),
        revoked=bool(record.revoked),
    )


class DynamoJoinCodeRepository:
    def add(self, code: JoinCode) -> None:
        JoinCodeRecord(
            code_id=code.code_id,
            grid_id=code.grid_id,
            created_by=code.created_by,
            created_at=code.created_at,
            expires_at=code.expires_at,
            max_uses=code.max_uses,
            uses=code.uses,
            revoked=code.revoked,
            expires=code.expires_at + _KEEP_EXPIRED_CODES,
        ).save(condition=JoinCodeRecord.code_id.does_not_exist())

    def get(self, code_id: str) -> JoinCode | None:
        record = get_or_none(JoinCodeRecord, code_id, consistent=True)
        return _join_code(record) if record else None

    def revoke(self, code_id: str) -> None:
        JoinCodeRecord(code_id=code_id).update(
            actions=[JoinCodeRecord.revoked.set(True)], condition=JoinCodeRecord.code_id.exists()
        )

    def for_grid(self, grid_id: str, limit: int, cursor: str | None) -> Page[JoinCode]:
        results = JoinCodeRecord.by_grid.query(
            grid_id, scan_index_forward=False, limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
        return page_of(results, _join_code)
