"""SQS queues → the app's queue handlers, as Lambda's SQS event-source mapping does it.

A received batch goes to the handler in one invocation. Messages the handler reports in
``batchItemFailures`` (or the whole batch, when it raises) are left alone: they come back after the
queue's visibility timeout, and SQS itself moves them to the DLQ after ``maxReceiveCount``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.local.lambda_events import invoke, sqs_record
from chalicelib.local.sources import SqsSource

logger = logging.getLogger(__name__)

_SQS_MAX_BATCH = 10
_LONG_POLL_SECONDS = 1


def failed_message_ids(result: Any, message_ids: list[str]) -> set[str]:
    """Which messages failed, read from the handler's return value (Powertools' partial response)."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for failure in result["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in message_ids:
            # Lambda treats a response it cannot read as a failure of the whole batch.
            logger.error("unreadable batchItemFailures entry %r: the whole batch fails", failure)
            return set(message_ids)
        failed.add(identifier)
    return failed


class InFlightMessages:
    """Receipt handles of messages a handler failed, so a clean stop can make them visible again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: dict[tuple[str, str], str] = {}

    def failed(self, queue_url: str, message_id: str, receipt_handle: str) -> None:
        with self._lock:
            self._handles[(queue_url, message_id)] = receipt_handle

    def done(self, queue_url: str, message_ids: Iterable[str]) -> None:
        with self._lock:
            for message_id in message_ids:
                self._handles.pop((queue_url, message_id), None)

    def release_all(self, sqs: Any) -> int:
        """Make every failed message visible at once; returns how many were released."""
        with self._lock:
            handles, self._handles = self._handles, {}
        released = 0
        for (queue_url, _), receipt_handle in handles.items():
            try:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
                released += 1
            except ClientError:
                pass  # already deleted, moved to the DLQ or received again: nothing to release
        return released


class SqsPoller(threading.Thread):
    """Long-polls one queue and feeds its handler until ``stop_event`` is set."""

    def __init__(
        self,
        *,
        source: SqsSource,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        function_name: str,
        stop_event: threading.Event,
        in_flight: InFlightMessages,
    ) -> None:
        super().__init__(name=f"sqs-{source.name}", daemon=True)
        self._source = source
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._function_name = function_name
        self._stop_event = stop_event
        self._in_flight = in_flight

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError):
                if self._stop_event.is_set():
                    return
                logger.warning("%s: polling %s failed; retrying", self.name, self._queue_url, exc_info=True)
                self._stop_event.wait(1.0)
            except Exception:  # the poller must outlive any surprise
                logger.exception("%s: unexpected error", self.name)
                self._stop_event.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch and deliver it; returns how many messages were received."""
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(self._source.batch_size, _SQS_MAX_BATCH)),
            WaitTimeSeconds=_LONG_POLL_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self._deliver(messages)
        return len(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(message, self._queue_arn, self._region) for message in messages]}
        ids = [message["MessageId"] for message in messages]
        ok, result = invoke(self._source.handler, event, self._function_name)
        failed = set(ids) if not ok else failed_message_ids(result, ids)
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        self._delete_messages(succeeded)
        self._in_flight.done(self._queue_url, (message["MessageId"] for message in succeeded))
        for message in messages:
            if message["MessageId"] in failed:
                self._in_flight.failed(self._queue_url, message["MessageId"], message["ReceiptHandle"])
        if failed:
            logger.info("%s: %d of %d messages failed; SQS redelivers them", self.name, len(failed), len(ids))

    def _delete_messages(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_MAX_BATCH):
            chunk = messages[start : start + _SQS_MAX_BATCH]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                logger.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))
