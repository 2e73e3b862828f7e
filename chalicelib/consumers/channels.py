"""Handlers for the channels: WeChat and SMS messages from the inbound queue, and one-to-one chat
messages told to the other person (in-app, and on the channel they use)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib import bootstrap
from chalicelib.adapters.chat import message_from_image
from chalicelib.adapters.definitions import INBOUND, NOTIFICATIONS
from chalicelib.adapters.inbox import SqsNotificationPublisher
from chalicelib.adapters.intake import message_from_json
from chalicelib.consumers.batch import partial_batch
from chalicelib.domain.errors import InvalidInput, NotFound, Unavailable
from chalicelib.observability import logger, metrics
from chalicelib.services.inbound import failure_reply
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
_settings = get_settings()
_queue_processor = BatchProcessor(event_type=EventType.SQS)
_stream_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _inbound(record: SQSRecord) -> None:
    message = message_from_json(record.body)
    service = bootstrap.inbound_service()
    try:
        outcome = service.handle(message)
    except Unavailable:
        raise  # a provider or AWS hiccup: the queue retries, and every effect is keyed on the message
    except (InvalidInput, NotFound) as exc:
        # The message cannot be acted on as it is: say so once, do not retry.
        logger.info("inbound message refused", extra={"code": exc.code, "channel": message.channel})
        service.reply(message, failure_reply(exc))
        return
    metrics.add_metric(name=f"Inbound_{message.channel}_{outcome.action}", unit="Count", value=1)


@bp.on_sqs_message(queue=_settings.queue_name(INBOUND.logical), batch_size=INBOUND.batch_size)
def on_inbound_message(event: SQSEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _inbound, _queue_processor, event.context)


def _message_posted(record: DynamoDBRecord) -> None:
    raw = record.raw_event.get("dynamodb", {})
    if record.raw_event.get("eventName") != "INSERT" or not raw.get("NewImage"):
        return  # hiding a message, for one, tells nobody
    message = message_from_image(raw["NewImage"])
    notes = bootstrap.chat_service().notifications_for(message)
    if notes:
        SqsNotificationPublisher(_settings.queue_name(NOTIFICATIONS.logical)).publish(notes)


@bp.on_dynamodb_record(stream_arn=_settings.stream_arn("messages"), batch_size=100)
def on_message_posted(event: DynamoDBEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _message_posted, _stream_processor, event.context)
