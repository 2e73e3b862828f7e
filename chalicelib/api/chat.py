"""Grid group chat and one-to-one conversations (网格群聊)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import (
    ChatUpload,
    ConversationList,
    ConversationOut,
    DirectRequest,
    HideRequest,
    MessageOut,
    MessagePageOut,
    MessagesQuery,
    SendMessageRequest,
    UploadRequest,
)
from chalicelib.domain.chat import HIDDEN_TEXT, Message, MessageContent, MessageKind
from chalicelib.domain.users import User

bp = Blueprint(__name__)
TAG = "chat"


def message_out(message: Message, senders: dict[str, User], moderator: bool) -> MessageOut:
    """A message as its reader may see it: a hidden one shows only a notice, except to staff."""
    sender = senders.get(message.sender_id)
    c = message.content
    shown = moderator or not message.hidden
    service = bootstrap.chat_service()
    return MessageOut(
        message_id=message.message_id,
        key=message.key,
        conversation_id=message.conversation_id,
        sender_id=message.sender_id,
        sender_name=sender.display_name if sender else None,
        sender_role=message.sender_role,
        kind=c.kind.value,
        text=(c.text if shown else HIDDEN_TEXT) if c.kind is MessageKind.TEXT or not shown else None,
        image_url=service.image_url(c.image_key) if shown and c.image_key else None,
        lat=c.lat if shown else None,
        long=c.long if shown else None,
        channel=message.channel,
        created_at=message.created_at,
        hidden=message.hidden,
        hidden_reason=message.hidden_reason if moderator else None,
    )


@endpoint(bp, "/v1/conversations", summary="My conversations with unread counts", tag=TAG, response=ConversationList)
def my_conversations(call: Call) -> ConversationList:
    views = bootstrap.chat_service().mine(call.user)
    return ConversationList(items=[ConversationOut.of(v.conversation, v.unread, v.peer_id) for v in views])


@endpoint(
    bp,
    "/v1/conversations/direct",
    "POST",
    summary="Open a one-to-one conversation",
    tag=TAG,
    body=DirectRequest,
    response=ConversationOut,
    status=201,
    errors=[403, 404, 422],
    description="A resident with their grid worker, or staff with a resident in their area. "
    "Opening it again returns the same conversation.",
)
def open_direct(call: Call) -> ConversationOut:
    view = bootstrap.chat_service().open_direct(call.user, call.body.with_user)
    return ConversationOut.of(view.conversation, view.unread, view.peer_id)


@endpoint(
    bp,
    "/v1/conversations/{conversation_id}/messages",
    summary="Messages, newest first (or newer ones)",
    tag=TAG,
    query=MessagesQuery,
    response=MessagePageOut,
    errors=[403, 404],
)
def list_messages(call: Call, conversation_id: str) -> MessagePageOut:
    q: MessagesQuery = call.query
    found = bootstrap.chat_service().read(call.user, conversation_id, q.limit, q.cursor, q.after)
    return MessagePageOut(
        items=[message_out(m, found.senders, found.moderator) for m in found.page.items],
        next_cursor=found.page.next_cursor,
    )


@endpoint(
    bp,
    "/v1/conversations/{conversation_id}/messages",
    "POST",
    summary="Send a message",
    tag=TAG,
    body=SendMessageRequest,
    response=MessageOut,
    status=201,
    idempotent=True,
    errors=[403, 404, 422, 429],
)
def send_message(call: Call, conversation_id: str) -> MessageOut:
    body: SendMessageRequest = call.body
    content = MessageContent(MessageKind(body.kind), body.text, body.image_key, body.lat, body.long)
    message = bootstrap.chat_service().send(call.user, conversation_id, content)
    return message_out(message, {}, moderator=False)  # the sender knows their own name: no extra read


@endpoint(
    bp,
    "/v1/conversations/{conversation_id}/read",
    "POST",
    summary="Mark the conversation read",
    tag=TAG,
    status=204,
    errors=[403, 404],
)
def mark_read(call: Call, conversation_id: str) -> None:
    bootstrap.chat_service().mark_read(call.user, conversation_id)


@endpoint(
    bp,
    "/v1/conversations/{conversation_id}/uploads",
    "POST",
    summary="Get a presigned upload for an image",
    tag=TAG,
    body=UploadRequest,
    response=ChatUpload,
    status=201,
    errors=[403, 404, 422],
)
def upload_image(call: Call, conversation_id: str) -> ChatUpload:
    return ChatUpload(**bootstrap.chat_service().upload(call.user, conversation_id, call.body.content_type))


@endpoint(
    bp,
    "/v1/messages/{message_id}/hide",
    "POST",
    summary="Hide a message (staff)",
    tag=TAG,
    body=HideRequest,
    response=MessageOut,
    errors=[403, 404],
    description="Residents then see a notice instead; the message stays, with who hid it and why.",
)
def hide_message(call: Call, message_id: str) -> MessageOut:
    message = bootstrap.chat_service().hide(call.user, message_id, call.body.reason)
    return message_out(message, {}, moderator=True)
