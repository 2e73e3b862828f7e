"""In-app notifications: what a person is told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Notification:
    notification_id: str
    user_id: str
    kind: str
    title: str
    body: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "user_id": self.user_id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Notification:
        return cls(
            notification_id=str(message["notification_id"]),
            user_id=str(message["user_id"]),
            kind=str(message["kind"]),
            title=str(message["title"]),
            body=str(message["body"]),
            created_at=datetime.fromisoformat(str(message["created_at"])),
            data=dict(message.get("data") or {}),
        )
