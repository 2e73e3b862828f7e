"""Moving the data directory's contents into a fresh moto, and queued messages out of it."""

from __future__ import annotations

import base64
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from chalicelib.local.dynamo_json import Item, from_json_item
from chalicelib.local.journal import StoredState, write_json_atomically

logger = logging.getLogger(__name__)

_WRITE_BATCH = 25
_SQS_BATCH = 10
# Attributes that must travel with a message to a FIFO queue; the rest SQS sets itself.
_FIFO_ATTRIBUTES = ("MessageGroupId", "MessageDeduplicationId")


def replay_tables(dynamodb: Any, state: StoredState, known_tables: Iterable[str]) -> int:
    """Write every stored item into its table; returns how many items were written."""
    known = set(known_tables)
    written = 0
    for table, items in state.items.items():
        if table not in known:
            # Kept in the snapshot (compaction carries it forward), just not loaded.
            logger.warning("%d stored items of %s not loaded: the table is not defined", len(items), table)
            continue
        written += _batch_put(dynamodb, table, list(items.values()))
    return written


def _batch_put(dynamodb: Any, table: str, items: Sequence[Item]) -> int:
    for start in range(0, len(items), _WRITE_BATCH):
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": from_json_item(item)}} for item in items[start : start + _WRITE_BATCH]
        ]
        pending: dict[str, list[dict[str, Any]]] = {table: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(items)


def save_queue_messages(sqs: Any, queue_urls: dict[str, str], path: Path) -> int:
    """Take every visible message out of the queues (in the given order) and store it in ``path``.

    Order the source queues before their DLQs: receiving from a queue may move messages that
    reached maxReceiveCount into its DLQ, which is then drained after it.
    """
    saved: dict[str, list[dict[str, Any]]] = {}
    for name, url in queue_urls.items():
        messages = list(_drain(sqs, url))
        if messages:
            saved[name] = messages
    write_json_atomically(path, {"queues": saved})
    return sum(len(messages) for messages in saved.values())


def restore_queue_messages(sqs: Any, queue_urls: dict[str, str], path: Path) -> int:
    """Send the messages stored at the last clean stop back to their queues, then forget them."""
    if not path.exists():
        return 0
    stored: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))["queues"]
    sent = 0
    for name, messages in stored.items():
        url = queue_urls.get(name)
        if url is None:
            logger.warning("%d stored messages of %s dropped: the queue is not defined", len(messages), name)
            continue
        for message in messages:
            sqs.send_message(QueueUrl=url, **_send_arguments(message))
            sent += 1
    path.unlink()
    return sent


def save_buckets(s3: Any, buckets: Iterable[str], directory: Path) -> int:
    """Copy every object of the buckets into ``directory``, replacing the previous copy."""
    staging = _staging(directory)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    index: dict[str, list[dict[str, Any]]] = {}
    count = 0
    for bucket in buckets:
        index[bucket] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                stored = s3.get_object(Bucket=bucket, Key=entry["Key"])
                # Keys may hold any character; files are numbered and the index maps them back.
                file_name = f"{count:08d}"
                (staging / file_name).write_bytes(stored["Body"].read())
                index[bucket].append(
                    {
                        "key": entry["Key"],
                        "file": file_name,
                        "content_type": stored.get("ContentType"),
                        "metadata": stored.get("Metadata", {}),
                    }
                )
                count += 1
    write_json_atomically(staging / "index.json", index)
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return count


def restore_buckets(s3: Any, buckets: Iterable[str], directory: Path) -> int:
    """Put the objects saved at the last clean stop back; returns how many were put."""
    # A stop that died between dropping the old copy and renaming the new one leaves the staging copy.
    source = next((d for d in (directory, _staging(directory)) if (d / "index.json").exists()), None)
    if source is None:
        return 0
    known = set(buckets)
    index: dict[str, list[dict[str, Any]]] = json.loads((source / "index.json").read_text(encoding="utf-8"))
    count = 0
    for bucket, objects in index.items():
        if bucket not in known:
            logger.warning("%d saved objects of %s not loaded: the bucket is not defined", len(objects), bucket)
            continue
        for entry in objects:
            extra: dict[str, Any] = {"Metadata": entry.get("metadata") or {}}
            if entry.get("content_type"):
                extra["ContentType"] = entry["content_type"]
            s3.put_object(Bucket=bucket, Key=entry["key"], Body=(source / entry["file"]).read_bytes(), **extra)
            count += 1
    return count


def _staging(directory: Path) -> Path:
    return directory.with_name(f"{directory.name}.saving")


def _drain(sqs: Any, url: str) -> Iterable[dict[str, Any]]:
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=_SQS_BATCH,
            WaitTimeSeconds=0,
            # Long enough that nothing reappears while the queue is being drained.
            VisibilityTimeout=600,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            yield _stored_message(message)


def _stored_message(message: dict[str, Any]) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "body": message["Body"],
        "attributes": {name: attributes[name] for name in _FIFO_ATTRIBUTES if name in attributes},
        "receive_count": int(attributes.get("ApproximateReceiveCount", "0")),
        "message_attributes": {
            name: _json_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
    }


def _send_arguments(stored: dict[str, Any]) -> dict[str, Any]:
    arguments: dict[str, Any] = {"MessageBody": stored["body"], **stored.get("attributes", {})}
    if stored.get("message_attributes"):
        arguments["MessageAttributes"] = {
            name: _boto_attribute(value) for name, value in stored["message_attributes"].items()
        }
    return arguments


def _json_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"DataType": value["DataType"]}
    if "StringValue" in value:
        out["StringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return out


def _boto_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"DataType": value["DataType"]}
    if "StringValue" in value:
        out["StringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["BinaryValue"] = base64.b64decode(value["BinaryValue"])
    return out
