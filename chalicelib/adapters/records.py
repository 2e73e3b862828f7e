"""PynamoDB records: the tables, their keys and indexes.

These classes are the one definition of the data: the repositories read and write through them,
the local stack creates its tables from them, and ``infra/`` deploys the same schemas
(see ``chalicelib.adapters.definitions``).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import get_settings

STREAM_VIEW = "NEW_AND_OLD_IMAGES"


def table_meta(logical: str, *, stream: bool = False) -> Any:
    """A PynamoDB ``Meta`` for the stage's table ``logical`` (no AWS call: names only)."""
    settings = get_settings()
    attrs: dict[str, Any] = {
        "table_name": settings.table_name(logical),
        "region": settings.region,
        "host": settings.aws_endpoint_url,
        "billing_mode": "PAY_PER_REQUEST",
        "logical_name": logical,
        "max_retry_attempts": 3,
    }
    if stream:
        attrs["stream_view_type"] = STREAM_VIEW
    return type("Meta", (), attrs)


def index_meta(name: str) -> Any:
    return type("Meta", (), {"index_name": name, "projection": AllProjection()})


# --- the administrative tree -------------------------------------------------------------


class UnitsByParent(GlobalSecondaryIndex["UnitRecord"]):
    Meta = index_meta("by_parent")
    parent_id = UnicodeAttribute(hash_key=True)
    unit_id = UnicodeAttribute(range_key=True)


class UnitRecord(Model):
    Meta = table_meta("units")
    unit_id = UnicodeAttribute(hash_key=True)
    parent_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    level = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_parent = UnitsByParent()


# --- people --------------------------------------------------------------------------------


class BindingAttribute(MapAttribute[str, Any]):
    grid_id = UnicodeAttribute()
    building = UnicodeAttribute()
    unit = UnicodeAttribute()
    room = UnicodeAttribute()
    status = UnicodeAttribute()
    bound_at = UTCDateTimeAttribute()
    join_code_id = UnicodeAttribute()
    verified_by = UnicodeAttribute(null=True)
    verified_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)


class UsersByUnit(GlobalSecondaryIndex["UserRecord"]):
    """Who belongs to a unit: ``residents@<grid>`` by binding status, ``staff@<unit>`` by role."""

    Meta = index_meta("by_unit")
    member_of = UnicodeAttribute(hash_key=True)
    member_sk = UnicodeAttribute(range_key=True)


class UserRecord(Model):
    Meta = table_meta("users", stream=True)
    user_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    scope = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    phone = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    wechat_openid = UnicodeAttribute(null=True)
    department = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    binding = BindingAttribute(null=True)
    erased = BooleanAttribute(default=False)
    member_of = UnicodeAttribute(null=True)
    member_sk = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_unit = UsersByUnit()


class IdentityRecord(Model):
    """A unique way to sign in (``phone#<hmac>``, ``wechat#<openid>``) → the user it belongs to.

    Written in the same transaction as the user, with a condition, so two first sign-ins with the
    same phone at the same moment cannot create two people.
    """

    Meta = table_meta("identities")
    identity = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class AccessLogRecord(Model):
    """Who read a person's sensitive record (identity, health, counselling), and when."""

    Meta = table_meta("access-log")
    subject_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    actor_id = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    expires = TTLAttribute()


# --- joining -----------------------------------------------------------------------------


class JoinCodesByGrid(GlobalSecondaryIndex["JoinCodeRecord"]):
    Meta = index_meta("by_grid")
    grid_id = UnicodeAttribute(hash_key=True)
    code_id = UnicodeAttribute(range_key=True)


class JoinCodeRecord(Model):
    Meta = table_meta("join-codes")
    code_id = UnicodeAttribute(hash_key=True)
    grid_id = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    max_uses = NumberAttribute()
    uses = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    expires = TTLAttribute()
    by_grid = JoinCodesByGrid()


# --- short-lived things ---------------------------------------------------------------------


class EphemeralRecord(Model):
    """One-time codes and rate-limit counters; DynamoDB's TTL removes them."""

    Meta = table_meta("ephemeral")
    pk = UnicodeAttribute(hash_key=True)
    code_hash = UnicodeAttribute(null=True)
    tries = NumberAttribute(null=True)
    hits = NumberAttribute(null=True)  # not "count": that name is Model.count()
    expires = TTLAttribute()


class IdempotencyRecord(Model):
    """The layout Powertools' DynamoDB persistence layer writes (it does the writing)."""

    Meta = table_meta("idempotency")
    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute()


# --- notifications -----------------------------------------------------------------------------


class NotificationRecord(Model):
    """A person's in-app inbox, newest first; the item ``#meta`` holds the unread count."""

    Meta = table_meta("notifications")
    user_id = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    data = MapAttribute[str, Any](null=True)
    created_at = UTCDateTimeAttribute(null=True)
    unread = NumberAttribute(null=True)
    read_up_to = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


ALL_RECORDS: tuple[type[Model], ...] = (
    UnitRecord,
    UserRecord,
    IdentityRecord,
    AccessLogRecord,
    JoinCodeRecord,
    EphemeralRecord,
    IdempotencyRecord,
    NotificationRecord,
)
