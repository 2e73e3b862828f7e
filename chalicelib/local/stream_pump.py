"""DynamoDB streams → the journal and the app's stream handlers.

One reader polls every table's stream (one cursor per shard) and does two things with each
record: it appends the change to the journal at once, and it hands the record to the dispatcher
of every handler registered on that table. Dispatchers run in their own threads, so a handler
that fails and is retried never delays the journal.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.local.dynamo_json import Item, to_json_item
from chalicelib.local.journal import Journal
from chalicelib.local.lambda_events import dynamodb_record, invoke
from chalicelib.local.moto_internals import ShardIteratorJanitor
from chalicelib.local.resources import TableStream
from chalicelib.local.sources import StreamSource

logger = logging.getLogger(__name__)

ChangeMarker = Callable[[str], Hashable | None]
_PAGE = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """Like an event-source mapping's MaximumRetryAttempts, with exponential backoff."""

    max_retries: int = 3
    first_delay: float = 0.5
    max_delay: float = 5.0

    def delay(self, retry: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2 ** (retry - 1)))


def records_to_retry(ok: bool, result: Any, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Lambda retries: nothing, the whole batch, or (partial failure) from the first failed record on."""
    if not ok:
        return batch
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return []
    sequence = [record["dynamodb"]["SequenceNumber"] for record in batch]
    positions: list[int] = []
    for failure in result["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence:
            logger.error("unreadable batchItemFailures entry %r: the whole batch is retried", failure)
            return batch
        positions.append(sequence.index(identifier))
    # A stream is ordered: Lambda checkpoints before the earliest failure and resends the rest.
    return batch[min(positions) :]


class StreamDispatcher(threading.Thread):
    """Feeds one stream handler in batches, retrying a failed batch a bounded number of times."""

    def __init__(self, source: StreamSource, function_name: str, retry: RetryPolicy) -> None:
        super().__init__(name=f"stream-{source.name}", daemon=True)
        self.source = source
        self._function_name = function_name
        self._retry = retry
        self._records: queue.Queue[dict[str, Any]] = queue.Queue()
        self._closing = threading.Event()
        self._abort = threading.Event()

    def offer(self, records: Sequence[dict[str, Any]]) -> None:
        """Queue Lambda-shaped records (without eventSourceARN) for delivery."""
        if self._closing.is_set():
            logger.warning("%s: stopping; %d new records are not delivered", self.name, len(records))
            return
        for record in records:
            self._records.put({**record, "eventSourceARN": self.source.stream_arn})

    def close(self, drain_timeout: float) -> None:
        """Deliver what is queued (for at most ``drain_timeout`` seconds), then stop."""
        self._closing.set()
        self.join(drain_timeout)
        if self.is_alive():
            self._abort.set()
            self.join(5.0)
        left = self._records.qsize()
        if left:
            logger.warning("%s: %d records were not delivered before the stop", self.name, left)

    def run(self) -> None:
        while not self._abort.is_set():
            batch = self._next_batch()
            if batch:
                try:
                    self._deliver(batch)
                except Exception:  # the dispatcher must outlive any surprise
                    logger.exception("%s: unexpected error", self.name)
            elif self._closing.is_set():
                return

    def _next_batch(self) -> list[dict[str, Any]]:
        try:
            batch = [self._records.get(timeout=0.1)]
        except queue.Empty:
            return []
        while len(batch) < self.source.batch_size:
            try:
                batch.append(self._records.get_nowait())
            except queue.Empty:
                break
        return batch

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(self._retry.max_retries + 1):
            if attempt and self._abort.wait(self._retry.delay(attempt)):
                break
            ok, result = invoke(self.source.handler, {"Records": batch}, self._function_name)
            batch = records_to_retry(ok, result, batch)
            if not batch:
                return
        first = batch[0]["dynamodb"]["SequenceNumber"]
        logger.error(
            "%s: giving up on %d records from sequence number %s after %d retries",
            self.name,
            len(batch),
            first,
            self._retry.max_retries,
        )


@dataclass
class _ShardCursor:
    table: TableStream
    shard_id: str
    last_sequence: str | None = None
    dispatchers: list[StreamDispatcher] = field(default_factory=list)


class StreamReader(threading.Thread):
    """Polls every table's stream, journals each change and fans records out to the dispatchers."""

    def __init__(
        self,
        *,
        streams: Any,
        dynamodb: Any,
        tables: Sequence[TableStream],
        dispatchers: Sequence[StreamDispatcher],
        journal: Journal | None,
        region: str,
        change_marker: ChangeMarker | None = None,
        janitor: ShardIteratorJanitor | None = None,
    ) -> None:
        super().__init__(name="stream-reader", daemon=True)
        self._streams = streams
        self._dynamodb = dynamodb
        self._tables = list(tables)
        self._dispatchers = list(dispatchers)
        self._journal = journal
        self._region = region
        self._change_marker = change_marker
        self._janitor = janitor
        self._cursors: list[_ShardCursor] = []
        self._markers: dict[str, Hashable | None] = {}
        self._next_full_poll = 0.0
        self._stop_event = threading.Event()

    def prime(self) -> None:
        """Start every cursor at the current end of its stream: what is there now is not news."""
        for table in self._tables:
            dispatchers = [d for d in self._dispatchers if d.source.table_name == table.table]
            description = self._streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]
            for shard in description["Shards"]:
                cursor = _ShardCursor(table, shard["ShardId"], dispatchers=dispatchers)
                while self._read_page(cursor, deliver=False) == _PAGE:
                    pass
                self._cursors.append(cursor)
            self._markers[table.table] = self._marker(table.table)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10.0)

    def run(self) -> None:
        # With a change marker, a check costs nothing and a write shows up within ~0.1 s;
        # without one, every check is two HTTP requests per shard.
        interval = 0.1 if self._change_marker else 0.5
        while not self._stop_event.wait(interval):
            try:
                self.poll()
            except Exception:  # the reader must outlive any surprise
                logger.exception("stream reader: unexpected error")

    def poll(self, force: bool = False) -> int:
        """Read whatever is new on every changed stream; returns how many records were read."""
        now = time.monotonic()
        # A slow full poll every few seconds in case a change marker ever misses something.
        full = force or now >= self._next_full_poll
        if full:
            self._next_full_poll = now + 5.0
        changed = {table.table for table in self._tables if full or self._changed(table.table)}
        read = 0
        for cursor in self._cursors:
            if cursor.table.table in changed:
                read += self._read_all(cursor)
        if self._journal is not None:
            self._journal.flush()
        if self._janitor is not None:
            self._janitor.sweep_if_due()
        return read

    def _changed(self, table: str) -> bool:
        marker = self._marker(table)
        if marker is None:
            return True
        if marker == self._markers.get(table):
            return False
        self._markers[table] = marker
        return True

    def _marker(self, table: str) -> Hashable | None:
        return self._change_marker(table) if self._change_marker else None

    def _read_all(self, cursor: _ShardCursor) -> int:
        total = 0
        try:
            while True:
                count = self._read_page(cursor, deliver=True)
                total += count
                if count < _PAGE:
                    return total
        except (BotoCoreError, ClientError):
            logger.warning("stream of %s: read failed; retried at the next poll", cursor.table.table, exc_info=True)
            return total

    def _read_page(self, cursor: _ShardCursor, deliver: bool) -> int:
        # A fresh iterator from our own position each time: moto replaces a table's stream shard
        # when it rolls back a failed transaction, and an old iterator would go on reading the
        # abandoned shard.
        if cursor.last_sequence is None:
            position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cursor.last_sequence}
        iterator = self._streams.get_shard_iterator(
            StreamArn=cursor.table.stream_arn, ShardId=cursor.shard_id, **position
        )["ShardIterator"]
        page = self._streams.get_records(ShardIterator=iterator, Limit=_PAGE)
        records: list[dict[str, Any]] = page["Records"]
        if records and deliver:
            self._deliver(cursor, records)
        if records:
            cursor.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        return len(records)

    def _deliver(self, cursor: _ShardCursor, raw_records: list[dict[str, Any]]) -> None:
        if self._journal is not None:
            for raw in raw_records:
                self._journal_record(cursor.table, raw)
        if cursor.dispatchers:
            shaped = [dynamodb_record(raw, self._region) for raw in raw_records]
            for dispatcher in cursor.dispatchers:
                dispatcher.offer(shaped)

    def _journal_record(self, table: TableStream, raw: dict[str, Any]) -> None:
        assert self._journal is not None
        stream = raw["dynamodb"]
        keys = stream["Keys"]
        image = self._image(table, raw)
        self._journal.append(table.table, to_json_item(keys), image, stream["SequenceNumber"])

    def _image(self, table: TableStream, raw: dict[str, Any]) -> Item | None:
        if raw["eventName"] == "REMOVE":
            return None
        stream = raw["dynamodb"]
        if "NewImage" in stream:
            return to_json_item(stream["NewImage"])
        # A KEYS_ONLY or OLD_IMAGE stream does not carry the item: read its current state. A later
        # change, if any, is in the journal after this one, so replay still ends at the truth.
        found = self._dynamodb.get_item(TableName=table.table, Key=stream["Keys"], ConsistentRead=True)
        item = found.get("Item")
        return to_json_item(item) if item else None
