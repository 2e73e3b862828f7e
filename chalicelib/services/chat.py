"""Grid group chat and one-to-one conversations: listing, opening, reading, sending, moderation."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.chat import (
    HIDDEN_TEXT,
    Conversation,
    ConversationKind,
    ConversationRef,
    Membership,
    Message,
    MessageContent,
    can_moderate,
    check_member,
    direct_conversation_id,
    my_grid_group,
    parse_conversation_id,
    split_message_id,
)
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.notifications import Notification
from chalicelib.domain.tree import Level, is_within, level_of, validate_path
from chalicelib.domain.units import Page
from chalicelib.domain.users import User
from chalicelib.services.ids import id_at, new_id
from chalicelib.services.notifications import caused_notification
from chalicelib.services.ports import (
    ChatRepository,
    Clock,
    PhotoStore,
    ReportRepository,
    UnitRepository,
    UserRepository,
)
from chalicelib.services.reports import PHOTO_TYPES
from chalicelib.services.units import check_limit

RATE_WINDOW = 60


@dataclass(frozen=True)
class ChatPolicy:
    messages_per_minute: int = 30
    photo_max_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    unread: int
    peer_id: str | None = None


@dataclass(frozen=True)
class MessagePage:
    page: Page[Message]
    senders: dict[str, User]
    moderator: bool


class ChatService:
    def __init__(
        self,
        chat: ChatRepository,
        users: UserRepository,
        units: UnitRepository,
        reports: ReportRepository,
        photos: PhotoStore,
        clock: Clock,
        policy: ChatPolicy,
    ) -> None:
        self._chat = chat
        self._users = users
        self._units = units
        self._reports = reports
        self._photos = photos
        self._clock = clock
        self._policy = policy

    # --- listing and opening -------------------------------------------------------------------

    def mine(self, principal: Principal) -> list[ConversationView]:
        """My conversations with unread counts, the most recent first (two reads)."""
        memberships = {m.conversation_id: m for m in self._chat.memberships(principal.user_id, 200)}
        group = my_grid_group(principal)
        ids = list(memberships)
        if group and group not in memberships:
            ids.append(group)
        found = self._chat.conversations(ids)
        views = []
        for conversation_id in ids:
            conversation = found.get(conversation_id)
            if conversation is None:
                if conversation_id != group:
                    continue
                conversation = Conversation(conversation_id, ConversationKind.GRID, "网格群", grid_id=principal.scope)
            member = memberships.get(conversation_id)
            if member is None and conversation.seq:
                # First look at a grid's group since joining: its history is not "unread" news.
                self._chat.mark_read(principal.user_id, conversation_id, conversation.seq)
                member = Membership(principal.user_id, conversation_id, read_seq=conversation.seq)
            read = member.read_seq if member else 0
            views.append(
                ConversationView(conversation, max(0, conversation.seq - read), member.peer_id if member else None)
            )
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(views, key=lambda v: v.conversation.last_at or epoch, reverse=True)

    def open_direct(self, principal: Principal, with_user: str | None) -> ConversationView:
        """A resident and their grid worker (or staff and a resident in their scope); opening it
        again returns the same conversation, with my unread count."""
        conversation, peer_id = self.ensure_direct(principal, with_user)
        stored = self._chat.conversation(conversation.conversation_id) or conversation
        member = self._chat.membership(principal.user_id, conversation.conversation_id)
        return ConversationView(stored, max(0, stored.seq - (member.read_seq if member else 0)), peer_id)

    def ensure_direct(self, principal: Principal, with_user: str | None) -> tuple[Conversation, str]:
        """Make sure the one-to-one exists (writes only; returns it and the other person's id)."""
        me = self._person(principal.user_id)
        other = self._direct_peer(principal, with_user)
        conversation_id = direct_conversation_id(me.user_id, other.user_id)
        conversation = Conversation(
            conversation_id,
            ConversationKind.DIRECT,
            f"{me.display_name} · {other.display_name}",
            members=tuple(sorted((me.user_id, other.user_id))),
        )
        self._chat.open(
            conversation,
            [
                Membership(me.user_id, conversation_id, peer_id=other.user_id),
                Membership(other.user_id, conversation_id, peer_id=me.user_id),
            ],
        )
        return conversation, other.user_id

    def _direct_peer(self, principal: Principal, with_user: str | None) -> User:
        if principal.role is Role.RESIDENT:
            if not principal.scope:
                raise Forbidden("bind to your grid first (scan your grid's QR code)", code="not_bound")
            workers = self._users.staff(principal.scope, Role.GRID_WORKER, 20, None).items
            if with_user:
                workers = [w for w in workers if w.user_id == with_user]
            if not workers:
                raise NotFound("your grid has no grid worker to talk to yet", code="no_grid_worker")
            return workers[0]
        if not with_user:
            raise InvalidInput("with_user", "say whom to talk to")
        other = self._person(with_user)
        if other.user_id == principal.user_id or not _in_area(principal, other):
            raise Forbidden("you can talk one to one with the residents and staff of your area")
        return other

    # --- reading ------------------------------------------------------------------------------

    def read(
        self, principal: Principal, conversation_id: str, limit: int | None, cursor: str | None, after: str | None
    ) -> MessagePage:
        """A page of messages (newest first; or, with ``after``, newer ones oldest first)."""
        ref, report_grid = self._admit(principal, conversation_id)
        if after is not None and len(after) != 26:
            raise InvalidInput("after", "must be a message id's last 26 characters (a ULID)")
        page = self._chat.messages(conversation_id, check_limit(limit, 50), cursor, after)
        senders = self._users.get_many([m.sender_id for m in page.items])
        return MessagePage(page, senders, can_moderate(principal, ref, report_grid))

    def mark_read(self, principal: Principal, conversation_id: str) -> int:
        """Move my read pointer to the newest message; returns my unread count (0)."""
        self._admit(principal, conversation_id)
        conversation = self._chat.conversation(conversation_id)
        self._chat.mark_read(principal.user_id, conversation_id, conversation.seq if conversation else 0)
        return 0

    # --- sending ------------------------------------------------------------------------------

    def send(
        self,
        principal: Principal,
        conversation_id: str,
        content: MessageContent,
        channel: str = "app",
        key: str | None = None,
    ) -> Message:
        """Post a message: one read of the conversation, then one transaction (message, count,
        my pointer, my rate). Per-person rate limit: a burst beyond it is a 429."""
        ref, _ = self._admit(principal, conversation_id)
        content.check(conversation_id)
        now = self._clock.now()
        conversation = self._chat.conversation(conversation_id) or self._new_conversation(ref)
        message = Message(
            conversation_id=conversation_id,
            key=key or id_at(now),  # a key derived from its cause makes a redelivered message land once
            sender_id=principal.user_id,
            sender_role=principal.role.value,
            content=content,
            created_at=now,
            channel=channel,
        )
        window = math.floor(now.timestamp() / RATE_WINDOW)
        window_end = datetime.fromtimestamp((window + 1) * RATE_WINDOW, tz=UTC)
        self._chat.post(
            message,
            conversation,
            rate_key=f"rl#msg#{principal.user_id}#{window}",
            rate_limit=self._policy.messages_per_minute,
            rate_window_end=window_end,
            read_seq=conversation.seq + 1,
        )
        return message

    def _new_conversation(self, ref: ConversationRef) -> Conversation:
        if ref.kind is ConversationKind.GRID and ref.grid_id:
            grid = self._units.get(ref.grid_id)
            return Conversation(
                ref.conversation_id, ref.kind, f"{grid.name if grid else ref.grid_id}群", grid_id=ref.grid_id
            )
        if ref.kind is ConversationKind.REPORT:
            return Conversation(ref.conversation_id, ref.kind, "报事沟通")
        raise NotFound(f"no conversation {ref.conversation_id}; open it first", code="conversation_not_found")

    def upload(self, principal: Principal, conversation_id: str, content_type: str) -> dict[str, Any]:
        self._admit(principal, conversation_id)
        extension = PHOTO_TYPES.get(content_type)
        if extension is None:
            raise InvalidInput("content_type", f"must be one of {', '.join(PHOTO_TYPES)}")
        key = f"chat/{conversation_id}/{new_id()}.{extension}"
        form = self._photos.upload_form(key, content_type, self._policy.photo_max_bytes, 900)
        return {"image_key": key, "upload": form, "max_bytes": self._policy.photo_max_bytes, "expires_in": 900}

    def image_url(self, key: str) -> str:
        return self._photos.view_url(key, 3600)

    def notifications_for(self, message: Message) -> list[Notification]:
        """A one-to-one message is told to the other person, on the channel they last wrote from.

        Group messages tell nobody: 2,000 households read them through unread counts instead.
        """
        ref = parse_conversation_id(message.conversation_id)
        if ref.kind is not ConversationKind.DIRECT:
            return []
        peer_id = next((m for m in ref.members if m != message.sender_id), None)
        if peer_id is None:
            return []
        membership = self._chat.membership(peer_id, message.conversation_id)
        sender = self._users.get(message.sender_id)
        channel = membership.channel if membership else "app"
        return [
            caused_notification(
                f"chat|{message.message_id}|{peer_id}",
                peer_id,
                message.created_at,
                "chat_message",
                sender.display_name if sender else "新消息",
                message.content.preview if not message.hidden else HIDDEN_TEXT,
                {"conversation_id": message.conversation_id, "message_id": message.message_id, "channel": channel},
            )
        ]

    # --- moderation -----------------------------------------------------------------------------

    def hide(self, principal: Principal, message_id: str, reason: str | None) -> Message:
        """Staff hide a message from residents; it stays, with who hid it and why, for the audit trail."""
        conversation_id, key = split_message_id(message_id)
        ref, report_grid = self._admit(principal, conversation_id)
        if not can_moderate(principal, ref, report_grid):
            raise Forbidden("only staff of this conversation hide messages")
        if self._chat.message(conversation_id, key) is None:
            raise NotFound(f"no message {message_id}", code="message_not_found")
        return self._chat.hide(conversation_id, key, principal.user_id, self._clock.now(), (reason or "").strip()[:200])

    # --- helpers ------------------------------------------------------------------------------

    def _admit(self, principal: Principal, conversation_id: str) -> tuple[ConversationRef, str | None]:
        ref = parse_conversation_id(conversation_id)
        report_grid = reporter = None
        if ref.kind is ConversationKind.REPORT and ref.report_id:
            report = self._reports.get(ref.report_id)
            if report is None:
                raise NotFound(f"no conversation {conversation_id}", code="conversation_not_found")
            report_grid, reporter = report.grid_id, report.reporter_id
        if ref.kind is ConversationKind.GRID and not _is_grid(ref.grid_id):
            raise NotFound(f"no conversation {conversation_id}", code="conversation_not_found")
        check_member(principal, ref, report_grid, reporter)
        return ref, report_grid

    def _person(self, user_id: str) -> User:
        user = self._users.get(user_id)
        if user is None or user.erased:
            raise NotFound(f"no person {user_id}", code="user_not_found")
        return user


def _is_grid(path: str | None) -> bool:
    try:
        return path is not None and validate_path(path) == path and level_of(path) is Level.GRID
    except InvalidInput:
        return False


def _in_area(principal: Principal, other: User) -> bool:
    if other.role is Role.RESIDENT:
        return other.binding is not None and is_within(principal.scope, other.binding.grid_id)
    # a colleague above or below in the tree
    return bool(other.scope) and (is_within(principal.scope, other.scope) or is_within(other.scope, principal.scope))


def masked(message: Message) -> Message:
    """What a resident sees of a hidden message."""
    return replace(message, content=MessageContent(kind=message.content.kind, text=None))
