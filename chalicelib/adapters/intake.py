"""Webhook intake: first-delivery markers, the inbound queue, delivery markers, and the shared
WeChat access-token cache (all in the ``ephemeral`` table or SQS)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.adapters.aws import client, queue_url
from chalicelib.adapters.dynamo import get_or_none, is_condition_failure
from chalicelib.adapters.records import EphemeralRecord
from chalicelib.domain.channels import InboundMessage
from chalicelib.services.ports import Clock


def message_to_json(message: InboundMessage) -> str:
    data = asdict(message)
    data["created_at"] = message.created_at.isoformat()
    data["media_urls"] = list(message.media_urls)
    return json.dumps(data, ensure_ascii=False)


def message_from_json(text: str) -> InboundMessage:
    data: dict[str, Any] = json.loads(text)
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["media_urls"] = tuple(data.get("media_urls") or ())
    return InboundMessage(**data)


class DynamoOnce:
    """Markers that say "seen" or "done" once, kept for a while by TTL."""

    def __init__(self, clock: Clock, prefix: str, keep: timedelta) -> None:
        self._clock = clock
        self._prefix = prefix
        self._keep = keep

    def first_time(self, key: str) -> bool:
        """Mark ``key``; False when it was marked before."""
        record = EphemeralRecord(pk=f"{self._prefix}#{key}", expires=self._clock.now() + self._keep)
        try:
            record.save(condition=EphemeralRecord.pk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def seen(self, key: str) -> bool:
        return get_or_none(EphemeralRecord, f"{self._prefix}#{key}", consistent=True) is not None

    def forget(self, key: str) -> None:
        EphemeralRecord(pk=f"{self._prefix}#{key}").delete()


class SqsInboundQueue:
    def __init__(self, queue_name: str) -> None:
        self._queue_name = queue_name

    def put(self, message: InboundMessage) -> None:
        client("sqs").send_message(QueueUrl=queue_url(self._queue_name), MessageBody=message_to_json(message))


class DynamoTokenCache:
    """The WeChat access token, shared by every function until it nearly expires."""

    def get(self, name: str) -> tuple[str, datetime] | None:
        record = get_or_none(EphemeralRecord, f"token#{name}", consistent=True)
        if record is None or not record.value:
            return None
        return record.value, record.expires

    def put(self, name: str, token: str, expires_at: datetime) -> None:
        EphemeralRecord(pk=f"token#{name}", value=token, expires=expires_at).save()


def delay_redelivery(queue_name: str, receipt_handle: str, seconds: int) -> None:
    """Back off: the failed message comes back after ``seconds`` instead of the queue's default."""
    client("sqs").change_message_visibility(
        QueueUrl=queue_url(queue_name), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
    )
