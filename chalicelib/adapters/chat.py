"""Conversations, messages and read pointers on DynamoDB; SMS opt-outs."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters.dynamo import decode_cursor, encode_cursor, get_or_none, is_condition_failure, transaction
from chalicelib.adapters.records import (
    ChannelPrefRecord,
    ChatMemberRecord,
    ConversationRecord,
    EphemeralRecord,
    MessageRecord,
)
from chalicelib.domain.chat import (
    Conversation,
    Membership,
    Message,
    MessageContent,
    MessageKind,
    message_public_id,
    parse_conversation_id,
)
from chalicelib.domain.errors import NotFound, RateLimited
from chalicelib.domain.units import Page


def _conversation(record: ConversationRecord) -> Conversation:
    return Conversation(
        conversation_id=record.conversation_id,
        kind=parse_conversation_id(record.conversation_id).kind,  # the id says it; no second source
        title=record.title or "",
        seq=int(record.seq or 0),
        grid_id=record.grid_id,
        members=tuple(str(m) for m in record.members or ()),
        last_message_id=record.last_message_id,
        last_preview=record.last_preview,
        last_sender=record.last_sender,
        last_at=record.last_at,
    )


def _message(record: MessageRecord) -> Message:
    return Message(
        conversation_id=record.conversation_id,
        key=record.key,
        sender_id=record.sender_id,
        sender_role=record.sender_role,
        content=MessageContent(
            kind=MessageKind(record.kind),
            text=record.text,
            image_key=record.image_key,
            lat=float(record.lat) if record.lat is not None else None,
            long=float(record.long) if record.long is not None else None,
        ),
        created_at=record.created_at,
        channel=record.channel or "app",
        hidden=bool(record.hidden),
        hidden_by=record.hidden_by,
        hidden_at=record.hidden_at,
        hidden_reason=record.hidden_reason,
    )


def message_from_image(image: dict[str, object]) -> Message:
    return _message(MessageRecord.from_raw_data(image))


def _membership(record: ChatMemberRecord) -> Membership:
    return Membership(
        user_id=record.user_id,
        conversation_id=record.conversation_id,
        read_seq=int(record.read_seq or 0),
        channel=record.channel or "app",
        peer_id=record.peer_id,
    )


class DynamoChat:
    def conversation(self, conversation_id: str) -> Conversation | None:
        record = get_or_none(ConversationRecord, conversation_id)
        return _conversation(record) if record else None

    def conversations(self, conversation_ids: list[str]) -> dict[str, Conversation]:
        found = ConversationRecord.batch_get(list(dict.fromkeys(conversation_ids)))
        return {record.conversation_id: _conversation(record) for record in found}

    def memberships(self, user_id: str, limit: int) -> list[Membership]:
        return [_membership(r) for r in ChatMemberRecord.query(user_id, limit=limit)]

    def membership(self, user_id: str, conversation_id: str) -> Membership | None:
        record = get_or_none(ChatMemberRecord, user_id, conversation_id)
        return _membership(record) if record else None

    def open(self, conversation: Conversation, members: list[Membership]) -> None:
        """Create the conversation and its members unless they exist (opening twice is harmless)."""
        with transaction() as tw:
            tw.update(
                ConversationRecord(conversation_id=conversation.conversation_id),
                actions=[
                    ConversationRecord.kind.set(ConversationRecord.kind | conversation.kind.value),
                    ConversationRecord.title.set(ConversationRecord.title | conversation.title),
                    ConversationRecord.members.set(ConversationRecord.members | list(conversation.members)),
                    ConversationRecord.seq.set(ConversationRecord.seq | 0),
                ],
            )
            for member in members:
                tw.update(
                    ChatMemberRecord(user_id=member.user_id, conversation_id=member.conversation_id),
                    actions=[
                        ChatMemberRecord.read_seq.set(ChatMemberRecord.read_seq | 0),
                        ChatMemberRecord.channel.set(ChatMemberRecord.channel | member.channel),
                        *([ChatMemberRecord.peer_id.set(member.peer_id)] if member.peer_id else []),
                    ],
                )

    def post(
        self,
        message: Message,
        conversation: Conversation,
        rate_key: str,
        rate_limit: int,
        rate_window_end: datetime,
        read_seq: int,
    ) -> bool:
        """Store the message, bump the conversation's count and the sender's pointer, and count the
        sender's rate, all or nothing. False when this message (same id) was stored before."""
        c = message.content
        record = MessageRecord(
            conversation_id=message.conversation_id,
            key=message.key,
            sender_id=message.sender_id,
            sender_role=message.sender_role,
            kind=c.kind.value,
            text=c.text,
            image_key=c.image_key,
            lat=c.lat,
            long=c.long,
            channel=message.channel,
            created_at=message.created_at,
        )
        conv = ConversationRecord
        member = ChatMemberRecord
        limit = EphemeralRecord
        try:
            with transaction() as tw:
                tw.save(record, condition=MessageRecord.key.does_not_exist())
                tw.update(
                    EphemeralRecord(pk=rate_key),
                    actions=[limit.hits.add(1), limit.expires.set(rate_window_end + timedelta(minutes=5))],
                    condition=limit.hits.does_not_exist() | (limit.hits < rate_limit),
                )
                tw.update(
                    ConversationRecord(conversation_id=message.conversation_id),
                    actions=[
                        conv.seq.add(1),
                        conv.kind.set(conv.kind | conversation.kind.value),
                        conv.title.set(conv.title | conversation.title),
                        conv.last_message_id.set(message.message_id),
                        conv.last_preview.set(c.preview),
                        conv.last_sender.set(message.sender_id),
                        conv.last_at.set(message.created_at),
                        *([conv.grid_id.set(conversation.grid_id)] if conversation.grid_id else []),
                    ],
                )
                tw.update(
                    ChatMemberRecord(user_id=message.sender_id, conversation_id=message.conversation_id),
                    actions=[member.read_seq.set(read_seq), member.channel.set(message.channel)],
                )
        except TransactWriteError as exc:
            if get_or_none(MessageRecord, message.conversation_id, message.key, consistent=True) is not None:
                return False
            if get_or_none(EphemeralRecord, rate_key, consistent=True) is not None:
                raise RateLimited("you are sending too fast; wait a moment", retry_after=10) from exc
            raise
        return True

    def message(self, conversation_id: str, key: str) -> Message | None:
        record = get_or_none(MessageRecord, conversation_id, key, consistent=True)
        return _message(record) if record else None

    def messages(self, conversation_id: str, limit: int, cursor: str | None, after: str | None) -> Page[Message]:
        """History newest first (``cursor`` pages back), or with ``after``, what came since, oldest first."""
        if after:
            results = MessageRecord.query(
                conversation_id, MessageRecord.key > after, limit=limit, scan_index_forward=True
            )
        else:
            results = MessageRecord.query(
                conversation_id, limit=limit, scan_index_forward=False, last_evaluated_key=decode_cursor(cursor)
            )
        items = [_message(r) for r in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def mark_read(self, user_id: str, conversation_id: str, read_seq: int) -> None:
        ChatMemberRecord(user_id=user_id, conversation_id=conversation_id).update(
            actions=[ChatMemberRecord.read_seq.set(read_seq)]
        )

    def hide(self, conversation_id: str, key: str, by: str, at: datetime, reason: str | None) -> Message:
        """Hide a message from residents; its content stays for the audit trail."""
        record = MessageRecord(conversation_id=conversation_id, key=key)
        try:
            record.update(
                actions=[
                    MessageRecord.hidden.set(True),
                    MessageRecord.hidden_by.set(by),
                    MessageRecord.hidden_at.set(at),
                    MessageRecord.hidden_reason.set(reason or ""),
                ],
                condition=MessageRecord.key.exists(),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFound(
                    f"no message {message_public_id(conversation_id, key)}", code="message_not_found"
                ) from exc
            raise
        return _message(record)


class DynamoChannelPrefs:
    def sms_opted_out(self, key: str) -> bool:
        record = get_or_none(ChannelPrefRecord, f"sms#{key}")
        return bool(record and record.sms_opted_out)

    def set_sms_opt_out(self, key: str, opted_out: bool, at: datetime) -> None:
        ChannelPrefRecord(key=f"sms#{key}", sms_opted_out=opted_out, updated_at=at).save()
