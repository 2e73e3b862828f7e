"""What the app asks to be fed: its SQS, DynamoDB stream and schedule handlers."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from chalice.app import (
    Chalice,
    DynamoDBEventConfig,
    ScheduledEventConfig,
    ScheduleExpression,
    SQSEventConfig,
)

from chalicelib.local.lambda_events import Handler

logger = logging.getLogger(__name__)

_STREAM_TABLE = re.compile(r":table/(?P<table>[^/]+)/stream/")


@dataclass(frozen=True)
class SqsSource:
    name: str
    handler: Handler
    queue_name: str
    batch_size: int


@dataclass(frozen=True)
class StreamSource:
    name: str
    handler: Handler
    table_name: str
    stream_arn: str  # as the app registered it; Lambda puts it into each record's eventSourceARN
    batch_size: int


@dataclass(frozen=True)
class ScheduleSource:
    name: str
    handler: Handler
    expression: str


@dataclass
class EventSources:
    sqs: list[SqsSource] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def table_from_stream_arn(stream_arn: str) -> str | None:
    """The table name inside ``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``."""
    match = _STREAM_TABLE.search(stream_arn)
    return match.group("table") if match else None


def discover(app: Chalice) -> EventSources:
    """Every event handler the app registered, with the wrapped handler Lambda would call."""
    found = EventSources()
    for config in app.event_sources:
        # handler_map holds the callable Lambda invokes (middleware included), for blueprint
        # handlers as well as for handlers defined in app.py.
        handler = app.handler_map[config.name]
        if isinstance(config, SQSEventConfig):
            queue = config.queue or (config.queue_arn or "").rsplit(":", 1)[-1]
            found.sqs.append(SqsSource(config.name, handler, queue, config.batch_size))
        elif isinstance(config, DynamoDBEventConfig):
            table = table_from_stream_arn(config.stream_arn)
            if table is None:
                logger.warning("%s: cannot tell the table from stream ARN %s", config.name, config.stream_arn)
                found.unsupported.append(config.name)
                continue
            found.streams.append(StreamSource(config.name, handler, table, config.stream_arn, config.batch_size))
        elif isinstance(config, ScheduledEventConfig):
            expression = config.schedule_expression
            text = expression.to_string() if isinstance(expression, ScheduleExpression) else str(expression)
            found.schedules.append(ScheduleSource(config.name, handler, text))
        else:
            found.unsupported.append(config.name)
    if found.unsupported:
        logger.info("not fed by the local pump: %s", ", ".join(found.unsupported))
    return found
