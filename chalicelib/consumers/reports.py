"""Handlers that follow reports: the table's stream, the escalation workflow's queue, and the
daily schedule that closes resolved reports nobody rated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint, Cron, Rate
from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent

from chalicelib import bootstrap
from chalicelib.adapters.definitions import REPORT_EVENTS
from chalicelib.consumers.batch import partial_batch
from chalicelib.observability import logger, metrics
from chalicelib.services.report_events import CHINA
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
_settings = get_settings()
_stream_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_queue_processor = BatchProcessor(event_type=EventType.SQS)


def _report_changed(record: DynamoDBRecord) -> None:
    raw = record.raw_event.get("dynamodb", {})
    created = raw.get("ApproximateCreationDateTime")
    at = datetime.fromtimestamp(float(created), tz=UTC) if created else datetime.now(UTC)
    outcome = bootstrap.report_events().on_change(str(record.event_id), at, raw.get("OldImage"), raw.get("NewImage"))
    if outcome.counted.get("created"):
        metrics.add_metric(name="ReportsFiled", unit="Count", value=1)
    if outcome.counted.get("escalated"):
        metrics.add_metric(name="Escalations", unit="Count", value=outcome.counted["escalated"])
    if outcome.counted.get("red_card"):
        metrics.add_metric(name="RedCards", unit="Count", value=1)
        logger.warning("report overdue at the top (red card)", extra={"keys": raw.get("Keys")})


@bp.on_dynamodb_record(stream_arn=_settings.stream_arn("reports"), batch_size=50)
def on_report_changed(event: DynamoDBEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _report_changed, _stream_processor, event.context)


def _workflow_event(record: SQSRecord) -> None:
    sent = record.attributes.sent_timestamp
    at = datetime.fromtimestamp(int(sent) / 1000, tz=UTC) if sent else datetime.now(UTC)
    bootstrap.report_events().on_workflow_event(json.loads(record.body), at)


@bp.on_sqs_message(queue=_settings.queue_name(REPORT_EVENTS.logical), batch_size=REPORT_EVENTS.batch_size)
def on_escalation_event(event: SQSEvent) -> dict[str, Any]:
    return partial_batch(event.to_dict(), _workflow_event, _queue_processor, event.context)


@bp.schedule(Rate(1, unit=Rate.HOURS))
def rearm_escalations(event: CloudWatchEvent) -> dict[str, int]:
    """Start the escalation of any open report whose execution never started (a stream record
    that failed for good, say). Executions are named by report and arm: a running one is left
    as it is, and one that ended (a red card) is not started again."""
    now = datetime.now(UTC)
    started = sum(bootstrap.report_events().rearm(city, now) for city in _settings.cities)
    metrics.add_metric(name="EscalationsRearmChecked", unit="Count", value=started)
    return {"checked": started}


@bp.schedule(Cron(30, 18, "*", "*", "?", "*"))  # 02:30 in China (UTC+8), when nobody is working
def close_unrated_reports(event: CloudWatchEvent) -> dict[str, int]:
    """Close resolved reports left unrated past the grace period (a few days' worth, for catch-up)."""
    now = datetime.now(UTC)
    closed = 0
    for days_back in range(_settings.autoclose_days, _settings.autoclose_days + 3):
        day = (now - timedelta(days=days_back)).astimezone(CHINA).strftime("%Y-%m-%d")
        closed += bootstrap.report_service().close_unrated(day, now)
    metrics.add_metric(name="ReportsAutoClosed", unit="Count", value=closed)
    return {"closed": closed}
