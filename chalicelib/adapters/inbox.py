"""The in-app inbox, the access log, and the notifications queue."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError
from ulid import ULID

from chalicelib.adapters.aws import client, queue_url
from chalicelib.adapters.dynamo import cancellation_codes, decode_cursor, encode_cursor, get_or_none, transaction
from chalicelib.adapters.records import AccessLogRecord, NotificationRecord
from chalicelib.domain.auth import Principal
from chalicelib.domain.notifications import Notification
from chalicelib.domain.units import Page

META = "#meta"  # sorts before every ULID, so a newest-first query of ULIDs never meets it
_FIRST_ULID = "0"
_KEEP_NOTIFICATIONS = timedelta(days=180)
_KEEP_ACCESS_LOG = timedelta(days=3 * 365)


def _notification(record: NotificationRecord) -> Notification:
    return Notification(
        notification_id=record.notification_id,
        user_id=record.user_id,
        kind=record.kind or "",
        title=record.title or "",
        body=record.body or "",
        created_at=record.created_at,  # type: ignore[arg-type]
        data=record.data.as_dict() if record.data is not None else {},
    )


class DynamoInbox:
    def deliver(self, notification: Notification) -> bool:
        item = NotificationRecord(
            user_id=notification.user_id,
            notification_id=notification.notification_id,
            kind=notification.kind,
            title=notification.title,
            body=notification.body,
            data=notification.data,
            created_at=notification.created_at,
            expires=notification.created_at + _KEEP_NOTIFICATIONS,
        )
        try:
            with transaction(client_request_token=notification.notification_id) as tw:
                tw.save(item, condition=NotificationRecord.notification_id.does_not_exist())
                tw.update(
                    NotificationRecord(user_id=notification.user_id, notification_id=META),
                    actions=[NotificationRecord.unread.add(1)],
                )
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):  # only the put has a condition
                return False  # delivered before: a redelivered message changes nothing
            raise
        return True

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[Page[Notification], int, str | None]:
        results = NotificationRecord.query(
            user_id,
            NotificationRecord.notification_id >= _FIRST_ULID,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = [_notification(record) for record in results]
        meta = get_or_none(NotificationRecord, user_id, META)
        unread = int(meta.unread or 0) if meta else 0
        read_up_to = meta.read_up_to if meta else None
        return Page(items, encode_cursor(results.last_evaluated_key)), max(unread, 0), read_up_to

    def mark_read(self, user_id: str, up_to: str) -> None:
        NotificationRecord(user_id=user_id, notification_id=META).update(
            actions=[NotificationRecord.unread.set(0), NotificationRecord.read_up_to.set(up_to)]
        )


class DynamoAccessLog:
    def record(self, subject_ids: list[str], actor: Principal, action: str, at: datetime) -> None:
        with AccessLogRecord.batch_write() as batch:
            for subject_id in subject_ids:
                batch.save(
                    AccessLogRecord(
                        subject_id=subject_id,
                        entry_id=str(ULID.from_datetime(at)),
                        actor_id=actor.user_id,
                        actor_role=actor.role.value,
                        action=action,
                        at=at,
                        expires=at + _KEEP_ACCESS_LOG,
                    )
                )


class SqsNotificationPublisher:
    """Sends notifications to the queue in batches of ten; a failed entry raises so the
    caller (a stream handler) is retried, and delivery by id makes the repeat harmless."""

    def __init__(self, queue_name: str) -> None:
        self._queue_name = queue_name

    def publish(self, notifications: list[Notification]) -> None:
        for start in range(0, len(notifications), 10):
            chunk = notifications[start : start + 10]
            response = client("sqs").send_message_batch(
                QueueUrl=queue_url(self._queue_name),
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps(n.to_message(), ensure_ascii=False)}
                    for i, n in enumerate(chunk)
                ],
            )
            if response.get("Failed"):
                raise RuntimeError(f"the notifications queue refused {len(response['Failed'])} messages")
