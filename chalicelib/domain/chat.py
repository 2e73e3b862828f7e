"""Conversations (网格群聊 and one-to-one): who may take part, and what a message may carry.

Membership is never stored by hand: a grid's group belongs to the residents bound to the grid and
the staff whose scope is (or holds) it; a one-to-one conversation's id names its two people; a
report's thread belongs to its reporter and the staff over the report. So "may I?" needs no read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .auth import Principal, Role
from .errors import Forbidden, InvalidInput, NotFound
from .tree import Level, is_within, level_of

SEP = "~"
TEXT_MAX = 2000
HIDDEN_TEXT = "该消息已被隐藏"


class ConversationKind(StrEnum):
    GRID = "grid"
    DIRECT = "dm"
    REPORT = "report"


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    LOCATION = "location"


def grid_conversation_id(grid_id: str) -> str:
    return f"{ConversationKind.GRID.value}{SEP}{grid_id}"


def direct_conversation_id(a: str, b: str) -> str:
    """The same id whichever of the two opens it: opening it twice gives the same conversation."""
    first, second = sorted((a, b))
    return f"{ConversationKind.DIRECT.value}{SEP}{first}{SEP}{second}"


def report_conversation_id(report_id: str) -> str:
    return f"{ConversationKind.REPORT.value}{SEP}{report_id}"


@dataclass(frozen=True)
class ConversationRef:
    """What a conversation id says: its kind and whom or what it is about."""

    conversation_id: str
    kind: ConversationKind
    grid_id: str | None = None
    members: tuple[str, ...] = ()
    report_id: str | None = None


def parse_conversation_id(conversation_id: str) -> ConversationRef:
    kind, _, rest = conversation_id.partition(SEP)
    if kind == ConversationKind.GRID.value and rest:
        return ConversationRef(conversation_id, ConversationKind.GRID, grid_id=rest)
    if kind == ConversationKind.DIRECT.value and rest.count(SEP) == 1:
        a, b = rest.split(SEP)
        if a and b and a != b:
            return ConversationRef(conversation_id, ConversationKind.DIRECT, members=(a, b))
    if kind == ConversationKind.REPORT.value and rest:
        return ConversationRef(conversation_id, ConversationKind.REPORT, report_id=rest)
    raise NotFound(f"no conversation {conversation_id}", code="conversation_not_found")


def message_public_id(conversation_id: str, message_key: str) -> str:
    """A message's id in the API carries its conversation, so hiding it needs no index."""
    return f"{conversation_id}{SEP}{message_key}"


def split_message_id(message_id: str) -> tuple[str, str]:
    conversation_id, sep, key = message_id.rpartition(SEP)
    if not sep or not conversation_id or len(key) != 26:
        raise NotFound(f"no message {message_id}", code="message_not_found")
    return conversation_id, key


GRID_STAFF = frozenset({Role.GRID_WORKER, Role.DEPT_STAFF})


def in_grid_group(principal: Principal, grid_id: str) -> bool:
    """Residents bound to the grid; its grid workers and the department staff sunk into it; and
    the offices above it (who may read and speak, but are not listed as members)."""
    if principal.role is Role.RESIDENT:
        return principal.scope == grid_id
    if principal.role in GRID_STAFF:
        return is_within(principal.scope, grid_id)
    return principal.role.is_admin and is_within(principal.scope, grid_id)


def check_member(
    principal: Principal, ref: ConversationRef, report_grid: str | None = None, report_reporter: str | None = None
) -> None:
    """403 unless the caller belongs to the conversation (404 for a one-to-one of others)."""
    if ref.kind is ConversationKind.GRID:
        if ref.grid_id is None or not in_grid_group(principal, ref.grid_id):
            raise Forbidden("you are not in this grid's group")
    elif ref.kind is ConversationKind.DIRECT:
        if principal.user_id not in ref.members:
            raise NotFound(f"no conversation {ref.conversation_id}", code="conversation_not_found")
    else:
        allowed = principal.user_id == report_reporter or (
            principal.role.is_staff and report_grid is not None and is_within(principal.scope, report_grid)
        )
        if not allowed:
            raise NotFound(f"no conversation {ref.conversation_id}", code="conversation_not_found")


def can_moderate(principal: Principal, ref: ConversationRef, report_grid: str | None = None) -> bool:
    """Staff of the conversation may hide a message."""
    if not principal.role.is_staff:
        return False
    if ref.kind is ConversationKind.GRID:
        return ref.grid_id is not None and is_within(principal.scope, ref.grid_id)
    if ref.kind is ConversationKind.DIRECT:
        return principal.user_id in ref.members
    return report_grid is not None and is_within(principal.scope, report_grid)


def my_grid_group(principal: Principal) -> str | None:
    """The grid group a person is listed in: residents' bound grid, grid staff's own grid."""
    if not principal.scope or level_of(principal.scope) is not Level.GRID:
        return None
    if principal.role is Role.RESIDENT or principal.role in GRID_STAFF:
        return grid_conversation_id(principal.scope)
    return None


@dataclass(frozen=True)
class MessageContent:
    kind: MessageKind
    text: str | None = None
    image_key: str | None = None
    lat: float | None = None
    long: float | None = None

    def check(self, conversation_id: str) -> None:
        if self.kind is MessageKind.TEXT:
            if not self.text or not self.text.strip():
                raise InvalidInput("text", "a text message needs text")
            if len(self.text) > TEXT_MAX:
                raise InvalidInput("text", f"must be at most {TEXT_MAX} characters")
        elif self.kind is MessageKind.IMAGE:
            prefix = f"chat/{conversation_id}/"
            if not self.image_key or not self.image_key.startswith(prefix):
                raise InvalidInput("image_key", "must be a key from this conversation's upload")
        elif self.lat is None or self.long is None or not (-90 <= self.lat <= 90 and -180 <= self.long <= 180):
            raise InvalidInput("lat", "a location needs lat (-90..90) and long (-180..180)")

    @property
    def preview(self) -> str:
        if self.kind is MessageKind.IMAGE:
            return "[图片]"
        if self.kind is MessageKind.LOCATION:
            return "[位置]"
        return (self.text or "")[:80]


@dataclass(frozen=True)
class Message:
    conversation_id: str
    key: str  # the ULID within the conversation
    sender_id: str
    sender_role: str
    content: MessageContent
    created_at: datetime
    channel: str = "app"
    hidden: bool = False
    hidden_by: str | None = None
    hidden_at: datetime | None = None
    hidden_reason: str | None = None

    @property
    def message_id(self) -> str:
        return message_public_id(self.conversation_id, self.key)


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    kind: ConversationKind
    title: str
    seq: int = 0
    grid_id: str | None = None
    members: tuple[str, ...] = ()
    last_message_id: str | None = None
    last_preview: str | None = None
    last_sender: str | None = None
    last_at: datetime | None = None


@dataclass(frozen=True)
class Membership:
    """My pointer into a conversation: how far I have read, and the channel I last wrote from."""

    user_id: str
    conversation_id: str
    read_seq: int = 0
    channel: str = "app"
    peer_id: str | None = None
