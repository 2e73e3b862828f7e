"""The ports the use cases need. Adapters implement them on AWS; tests use in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.chat import Conversation, Membership, Message
from chalicelib.domain.joining import JoinCode
from chalicelib.domain.notifications import Notification
from chalicelib.domain.reports import Category, Report, Status, TimelineEntry
from chalicelib.domain.tree import Level
from chalicelib.domain.units import Page, Unit
from chalicelib.domain.users import BindingStatus, User


class Clock(Protocol):
    def now(self) -> datetime: ...


class UnitRepository(Protocol):
    def get(self, unit_id: str) -> Unit | None: ...

    def add(self, unit: Unit) -> None:
        """Create the unit; Conflict if that path exists already."""

    def children(self, parent_id: str, limit: int, cursor: str | None) -> Page[Unit]: ...


class UserRepository(Protocol):
    def get(self, user_id: str) -> User | None: ...

    def get_many(self, user_ids: list[str]) -> dict[str, User]:
        """Several people in one round trip (e.g. the senders of a page of messages)."""

    def find_by_identity(self, identity: str) -> User | None: ...

    def create(self, user: User, identities: list[str]) -> None:
        """Create the user and claim its identities at once; Conflict if one is taken."""

    def save(self, user: User) -> User:
        """Write a changed user if nobody changed it meanwhile (Conflict otherwise)."""

    def link_identity(self, user: User, identity: str) -> None:
        """Claim one more identity for an existing user; Conflict if someone else holds it."""

    def release_identities(self, identities: list[str]) -> None: ...

    def staff(self, unit_id: str, role: Role | None, limit: int, cursor: str | None) -> Page[User]:
        """Staff scoped exactly to ``unit_id`` (of one role, if given)."""

    def residents(self, grid_id: str, status: BindingStatus | None, limit: int, cursor: str | None) -> Page[User]:
        """Residents bound to the grid (in one binding status, if given)."""

    def bind(self, user: User, code_id: str, now: datetime) -> User:
        """Save the user's new binding and count one use of the join code, both or neither.

        Gone if the code is used up, revoked or expired at that moment; Conflict on a lost update.
        """


class JoinCodeRepository(Protocol):
    def add(self, code: JoinCode) -> None: ...

    def get(self, code_id: str) -> JoinCode | None: ...

    def revoke(self, code_id: str) -> None: ...

    def for_grid(self, grid_id: str, limit: int, cursor: str | None) -> Page[JoinCode]: ...


class OneTimeCodes(Protocol):
    def store(self, key: str, code_hash: str, ttl_seconds: int) -> None:
        """Keep a fresh code for ``key`` (replacing any earlier one, tries reset)."""

    def take_attempt(self, key: str, max_tries: int) -> str | None:
        """Count one try and return the stored hash; None when absent, expired or out of tries."""

    def discard(self, key: str) -> None: ...


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one hit in the current window; False (and nothing counted) when over ``limit``."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Hand the message to the SMS provider; Unavailable if it does not take it."""


class WeChatLogin(Protocol):
    def openid_for(self, login_code: str) -> str:
        """Exchange a mini-program login code for the user's OpenID (InvalidInput if refused)."""


class TokenIssuer(Protocol):
    def issue(self, principal: Principal, now: datetime) -> tuple[str, datetime]: ...


class NotificationPublisher(Protocol):
    def publish(self, notifications: list[Notification]) -> None:
        """Queue notifications for delivery (at least once; delivery is idempotent by id)."""


class NotificationInbox(Protocol):
    def deliver(self, notification: Notification) -> bool:
        """Store it in the person's inbox; False when it was there already."""

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[Page[Notification], int, str | None]:
        """(a page newest first, the unread count, the id read up to)."""

    def mark_read(self, user_id: str, up_to: str) -> None: ...


class AccessLog(Protocol):
    def record(self, subject_ids: list[str], actor: Principal, action: str, at: datetime) -> None:
        """Note that ``actor`` read the sensitive records of ``subject_ids``."""


class CategoryRepository(Protocol):
    def for_city(self, city: str) -> list[Category]: ...

    def save_all(self, city: str, categories: list[Category]) -> None: ...


@dataclass(frozen=True)
class ReportFilter:
    status: Status | None = None
    category: str | None = None
    level: Level | None = None
    overdue: bool = False
    open_only: bool = False


@dataclass(frozen=True)
class ReportView:
    report: Report
    timeline: list[TimelineEntry]
    followers: list[str]


class ReportRepository(Protocol):
    def get(self, report_id: str) -> Report | None: ...

    def view(self, report_id: str, timeline_limit: int) -> ReportView | None:
        """The report, its timeline (oldest first) and its followers, in one read."""

    def create(self, report: Report, entry: TimelineEntry) -> None: ...

    def save(self, report: Report, entry: TimelineEntry | None) -> Report:
        """Write the changed report (and its timeline entry) if nobody changed it meanwhile."""

    def add_timeline(self, report_id: str, entry: TimelineEntry) -> bool:
        """Add an entry once (False when an entry with its id is there already)."""

    def follow(self, report_id: str, user_id: str, at: datetime) -> None: ...

    def open_nearby(self, dup_key: str, limit: int) -> list[Report]: ...

    def for_reporter(self, user_id: str, limit: int, cursor: str | None) -> Page[Report]: ...

    def for_unit(
        self, unit_id: str, level: Level, report_filter: ReportFilter, now: datetime, limit: int, cursor: str | None
    ) -> Page[Report]: ...

    def resolved_on(self, day: str, limit: int, cursor: str | None) -> Page[Report]: ...


class EscalationWorkflow(Protocol):
    def start(self, report_id: str, arm: int) -> None:
        """Start the report's escalation for this arm; starting it again is harmless."""


class PhotoStore(Protocol):
    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        """A presigned POST that accepts only this key, this type and at most ``max_bytes``."""

    def view_url(self, key: str, expires_in: int) -> str: ...


class Counters(Protocol):
    def add(self, event_id: str, increments: dict[str, dict[str, int]], shards: dict[str, int]) -> bool:
        """Add ``increments`` (counter key → field → n) once per ``event_id``; False if counted before.

        ``shards`` names the keys that the whole city hits, with their shard count.
        """

    def read(self, key: str, shards: int) -> dict[str, int]: ...


class ChatRepository(Protocol):
    def conversation(self, conversation_id: str) -> Conversation | None: ...

    def conversations(self, conversation_ids: list[str]) -> dict[str, Conversation]: ...

    def memberships(self, user_id: str, limit: int) -> list[Membership]: ...

    def membership(self, user_id: str, conversation_id: str) -> Membership | None: ...

    def open(self, conversation: Conversation, members: list[Membership]) -> None: ...

    def post(
        self,
        message: Message,
        conversation: Conversation,
        rate_key: str,
        rate_limit: int,
        rate_window_end: datetime,
        read_seq: int,
    ) -> bool: ...

    def message(self, conversation_id: str, key: str) -> Message | None: ...

    def messages(self, conversation_id: str, limit: int, cursor: str | None, after: str | None) -> Page[Message]: ...

    def mark_read(self, user_id: str, conversation_id: str, read_seq: int) -> None: ...

    def hide(self, conversation_id: str, key: str, by: str, at: datetime, reason: str | None) -> Message: ...


class ChannelPrefs(Protocol):
    def sms_opted_out(self, key: str) -> bool: ...

    def set_sms_opt_out(self, key: str, opted_out: bool, at: datetime) -> None: ...
