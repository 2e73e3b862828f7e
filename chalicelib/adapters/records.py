"""PynamoDB records: the tables, their keys and indexes.

These classes are the one definition of the data: the repositories read and write through them,
the local stack creates its tables from them, and ``infra/`` deploys the same schemas
(see ``chalicelib.adapters.definitions``).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
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
    value = UnicodeAttribute(null=True)  # e.g. a provider's cached access token
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


# --- reports ----------------------------------------------------------------------------------

REPORT_SK = "#report"  # the report itself; its timeline entries are "t#<ulid>", followers "f#<user>"
REPORT_LEVELS = ("city", "district", "street", "community", "grid")


def report_index(name: str, hash_attr: str) -> Any:
    """A GSI of reports keyed by ``hash_attr``, newest first by report id."""
    index_class = type(
        f"Reports_{name}",
        (GlobalSecondaryIndex,),
        {
            "Meta": index_meta(name),
            hash_attr: UnicodeAttribute(hash_key=True),
            "report_id": UnicodeAttribute(range_key=True),
        },
    )
    return index_class()


class SupervisionAttribute(MapAttribute[str, Any]):
    by = UnicodeAttribute()
    role = UnicodeAttribute()
    deadline = UTCDateTimeAttribute()
    note = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class RatingAttribute(MapAttribute[str, Any]):
    stars = NumberAttribute()
    comment = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()


class ReportRecord(Model):
    """A report. Its GSIs make every list a Query: per unit at each level of the tree (all, and
    open only: those attributes exist only while the report is open), per reporter, the open
    duplicates near a place, and the resolved reports of a day for closing unrated ones.

    The escalation workflow reads and updates ``status``, ``step``, ``arm``, ``deadline_0..3``,
    ``red_card`` and ``version`` by these names (``infra/escalation.asl.json``).
    """

    Meta = table_meta("reports", stream=True)
    report_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=REPORT_SK)
    category = UnicodeAttribute()
    department = UnicodeAttribute()
    description = UnicodeAttribute()
    urgency = UnicodeAttribute()
    grid_id = UnicodeAttribute()
    building = UnicodeAttribute(null=True)
    unit_no = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    long = NumberAttribute(null=True)
    address = UnicodeAttribute(null=True)
    reporter_id = UnicodeAttribute()
    filed_by = UnicodeAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()
    step = NumberAttribute(default=0)
    arm = NumberAttribute(default=0)
    deadline_0 = UnicodeAttribute()
    deadline_1 = UnicodeAttribute()
    deadline_2 = UnicodeAttribute()
    deadline_3 = UnicodeAttribute()
    red_card = BooleanAttribute(default=False)
    photos = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    duplicate_of = UnicodeAttribute(null=True)
    supervision = SupervisionAttribute(null=True)
    rating = RatingAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    resolved_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    last_actor = UnicodeAttribute(null=True)
    version = VersionAttribute()
    # index keys (derived from the fields above when saved)
    u_city = UnicodeAttribute(null=True)
    u_district = UnicodeAttribute(null=True)
    u_street = UnicodeAttribute(null=True)
    u_community = UnicodeAttribute(null=True)
    u_grid = UnicodeAttribute(null=True)
    o_city = UnicodeAttribute(null=True)
    o_district = UnicodeAttribute(null=True)
    o_street = UnicodeAttribute(null=True)
    o_community = UnicodeAttribute(null=True)
    o_grid = UnicodeAttribute(null=True)
    dup_key = UnicodeAttribute(null=True)
    autoclose_day = UnicodeAttribute(null=True)

    by_reporter = report_index("by_reporter", "reporter_id")
    by_city = report_index("by_city", "u_city")
    by_district = report_index("by_district", "u_district")
    by_street = report_index("by_street", "u_street")
    by_community = report_index("by_community", "u_community")
    by_grid = report_index("by_grid", "u_grid")
    open_city = report_index("open_city", "o_city")
    open_district = report_index("open_district", "o_district")
    open_street = report_index("open_street", "o_street")
    open_community = report_index("open_community", "o_community")
    open_grid = report_index("open_grid", "o_grid")
    by_dup = report_index("by_dup", "dup_key")
    by_autoclose = report_index("by_autoclose", "autoclose_day")


class TimelineRecord(Model):
    """One change on a report's timeline, in the reports table beside the report."""

    Meta = table_meta("reports")
    report_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "t#<ulid>"
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    data = MapAttribute[str, Any](null=True)


class FollowerRecord(Model):
    """A resident who follows a report someone else filed (told of its changes)."""

    Meta = table_meta("reports")
    report_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "f#<user id>"
    user_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class CategoryRecord(Model):
    """Report categories of a city: department, deadlines, and what Open311 shows of them."""

    Meta = table_meta("categories")
    city = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    department = UnicodeAttribute()
    group = UnicodeAttribute()
    description = UnicodeAttribute()
    keywords = ListAttribute(of=UnicodeAttribute)  # type: ignore[arg-type]
    accept_minutes = MapAttribute[str, Any]()
    resolve_hours = MapAttribute[str, Any]()
    active = BooleanAttribute(default=True)


class CounterRecord(Model):
    """Per-unit, per-day counts (``<unit>#<day>`` or, for the busiest units, ``<unit>#<day>#<shard>``),
    and the markers (``evt#<event id>``) that make counting a redelivered stream record harmless."""

    Meta = table_meta("counters")
    pk = UnicodeAttribute(hash_key=True)
    expires = TTLAttribute(null=True)


# --- chat ----------------------------------------------------------------------------------------


class ConversationRecord(Model):
    """A conversation: its running message count (``seq``) and its last message, for the lists.

    Unread counts are ``seq`` minus each member's ``read_seq``: a message to a group of 2,000
    households is one write here, not 2,000.
    """

    Meta = table_meta("conversations")
    conversation_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    title = UnicodeAttribute(null=True)
    grid_id = UnicodeAttribute(null=True)
    members = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    seq = NumberAttribute(default=0)
    last_message_id = UnicodeAttribute(null=True)
    last_preview = UnicodeAttribute(null=True)
    last_sender = UnicodeAttribute(null=True)
    last_at = UTCDateTimeAttribute(null=True)


class MessageRecord(Model):
    Meta = table_meta("messages", stream=True)
    conversation_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # a ULID: newest last
    sender_id = UnicodeAttribute()
    sender_role = UnicodeAttribute()
    kind = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    image_key = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    long = NumberAttribute(null=True)
    channel = UnicodeAttribute(default="app")
    created_at = UTCDateTimeAttribute()
    hidden = BooleanAttribute(default=False)
    hidden_by = UnicodeAttribute(null=True)
    hidden_at = UTCDateTimeAttribute(null=True)
    hidden_reason = UnicodeAttribute(null=True)


class ChatMemberRecord(Model):
    """A person's pointer into a conversation (and, for one-to-ones, their membership)."""

    Meta = table_meta("chat-members")
    user_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)
    read_seq = NumberAttribute(default=0)
    channel = UnicodeAttribute(default="app")
    peer_id = UnicodeAttribute(null=True)


class ChannelPrefRecord(Model):
    """Per phone (``sms#<hmac>``): opted out of SMS (STOP) or back in (START)."""

    Meta = table_meta("channel-prefs")
    key = UnicodeAttribute(hash_key=True)
    sms_opted_out = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute()


ALL_RECORDS: tuple[type[Model], ...] = (
    UnitRecord,
    UserRecord,
    IdentityRecord,
    AccessLogRecord,
    JoinCodeRecord,
    EphemeralRecord,
    IdempotencyRecord,
    NotificationRecord,
    ReportRecord,
    CategoryRecord,
    CounterRecord,
    ConversationRecord,
    MessageRecord,
    ChatMemberRecord,
    ChannelPrefRecord,
)
