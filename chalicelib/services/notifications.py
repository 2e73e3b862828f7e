"""Notifications: who is told what when a binding changes, and the in-app inbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.notifications import Notification
from chalicelib.domain.units import Page
from chalicelib.domain.users import BindingStatus, User
from chalicelib.services.ids import derived_id
from chalicelib.services.ports import NotificationInbox, NotificationPublisher, UserRepository
from chalicelib.services.units import check_limit


def caused_notification(
    cause: str, user_id: str, at: datetime, kind: str, title: str, body: str, data: dict[str, Any]
) -> Notification:
    """A notification whose id comes from its cause: a redelivered event makes the same one,
    which the inbox then stores once."""
    return Notification(
        notification_id=derived_id(cause, at),
        user_id=user_id,
        kind=kind,
        title=title,
        body=body,
        created_at=at,
        data=data,
    )


@dataclass(frozen=True)
class InboxPage:
    page: Page[Notification]
    unread: int
    read_up_to: str | None


class NotificationService:
    def __init__(self, inbox: NotificationInbox) -> None:
        self._inbox = inbox

    def deliver(self, notification: Notification) -> bool:
        """Put it in the person's inbox once, however often the queue delivers it."""
        return self._inbox.deliver(notification)

    def inbox(self, principal: Principal, limit: int | None, cursor: str | None) -> InboxPage:
        page, unread, read_up_to = self._inbox.page(principal.user_id, check_limit(limit), cursor)
        return InboxPage(page=page, unread=unread, read_up_to=read_up_to)

    def mark_read(self, principal: Principal, up_to: str) -> None:
        self._inbox.mark_read(principal.user_id, up_to)


class BindingEvents:
    """Turns changes of a person's record (from the users table's stream) into notifications.

    The write lands first and this runs from its stream record, so no request writes to two
    services; ids derived from the change make a retried stream batch harmless.
    """

    def __init__(
        self,
        users: UserRepository,
        publisher: NotificationPublisher,
        decode: Callable[[dict[str, Any]], User],
    ) -> None:
        self._users = users
        self._publisher = publisher
        self._decode = decode

    def on_change(self, old_image: dict[str, Any] | None, new_image: dict[str, Any] | None) -> list[Notification]:
        old = self._decode(old_image) if old_image else None
        new = self._decode(new_image) if new_image else None
        notifications = self.notifications_for(old, new)
        if notifications:
            self._publisher.publish(notifications)
        return notifications

    def notifications_for(self, old: User | None, new: User | None) -> list[Notification]:
        if new is None or new.erased or new.role is not Role.RESIDENT or new.binding is None:
            return []
        before = old.binding if old is not None else None
        after = new.binding
        if before is not None and (before.grid_id, before.status, before.bound_at) == (
            after.grid_id,
            after.status,
            after.bound_at,
        ):
            return []
        cause = f"binding|{new.user_id}|{after.grid_id}|{after.status.value}|{after.bound_at.isoformat()}"
        at = after.verified_at or after.bound_at
        if after.status is BindingStatus.PENDING:
            workers = self._users.staff(after.grid_id, Role.GRID_WORKER, 50, None).items
            return [
                caused_notification(
                    f"{cause}|{worker.user_id}",
                    worker.user_id,
                    at,
                    "resident_pending",
                    "新居民待认证",
                    f"{new.display_name} 申请加入网格，住址 {after.address}，请核实。",
                    {"grid_id": after.grid_id, "user_id": new.user_id},
                )
                for worker in workers
            ]
        verified = after.status is BindingStatus.VERIFIED
        return [
            caused_notification(
                cause,
                new.user_id,
                at,
                "binding_verified" if verified else "binding_refused",
                "网格认证通过" if verified else "网格认证未通过",
                "网格员已确认您的住址，欢迎加入网格群。"
                if verified
                else f"网格员未能确认您的住址{('：' + after.note) if after.note else ''}。如有疑问请联系网格员。",
                {"grid_id": after.grid_id},
            )
        ]
