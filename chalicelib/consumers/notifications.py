"""Queue and stream handlers for notifications.

- ``deliver_notifications``: the notifications queue → each person's in-app inbox (idempotent by
  notification id; partial batch failures so one bad message does not redo the rest).
- ``on_user_changed``: the users table's stream → notifications about bindings (the outbox: the
  write lands first, its stream record causes the message).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib import bootstrap
from chalicelib.adapters.definitions import NOTIFICATIONS
from chalicelib.adapters.intake import delay_redelivery
from chalicelib.consumers.batch import partial_batch
from chalicelib.domain.errors import Unavailable
from chalicelib.domain.notifications import Notification
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
_settings = get_settings()

_queue_processor = BatchProcessor(event_type=EventType.SQS)
_stream_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


_BACKOFF_BASE = 10
_BACKOFF_MAX = 900


def _deliver(record: SQSRecord) -> None:
    """In-app first (always, once), then WeChat or SMS; a provider failure comes back later."""
    notification = Notification.from_message(json.loads(record.body))
    if bootstrap.notification_service().deliver(notification):
        metrics.add_metric(name="NotificationsDelivered", unit="Count", value=1)
    try:
        sent = bootstrap.channel_delivery().deliver(notification)
    except Unavailable as exc:
        if getattr(exc, "retryable", True):
            metrics.add_metric(name="DeliveryRetries", unit="Count", value=1)
            receives = int(record.attributes.approximate_receive_count or 1)
            delay = min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (receives - 1))
            delay_redelivery(_settings.queue_name(NOTIFICATIONS.logical), record.receipt_handle, delay)
            raise  # after maxReceiveCount the queue moves it to its DLQ (which alarms)
        metrics.add_metric(name="DeliveryRefused", unit="Count", value=1)
        logger.warning("channel refused the notification", extra={"code": exc.code, "details": exc.details})
        return
    if sent.channel != "none" and sent.skipped is None:
        metrics.add_metric(name=f"Delivered_{sent.channel}", unit="Count", value=1)


@bp.on_sqs_message(queue=_settings.queue_name(NOTIFICATIONS.logical), batch_size=NOTIFICATIONS.batch_size)
def deliver_notifications(event: SQSEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _deliver, _queue_processor, event.context)


def _user_changed(record: DynamoDBRecord) -> None:
    raw = record.raw_event.get("dynamodb", {})
    bootstrap.binding_events().on_change(raw.get("OldImage"), raw.get("NewImage"))


@bp.on_dynamodb_record(stream_arn=_settings.stream_arn("users"), batch_size=50)
def on_user_changed(event: DynamoDBEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _user_changed, _stream_processor, event.context)
