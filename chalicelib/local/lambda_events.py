"""Events and contexts shaped exactly as Lambda hands them to a function."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalice.local import LambdaContext

from chalicelib.local.dynamo_json import to_json_item

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
LOCAL_ACCOUNT = "123456789012"
_MAX_RUNTIME_MS = 900_000


def lambda_context(function_name: str) -> LambdaContext:
    """A fresh context per invocation (new request id, full remaining time), as in Lambda."""
    context = LambdaContext(function_name=function_name, memory_size=512, max_runtime_ms=_MAX_RUNTIME_MS)
    context.invoked_function_arn = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{function_name}"
    return context


def invoke(handler: Handler, event: dict[str, Any], function_name: str) -> tuple[bool, Any]:
    """Call the handler as Lambda would; (False, None) when it raised (the error is logged)."""
    try:
        return True, handler(event, lambda_context(function_name))
    except Exception:  # a failing handler is a normal event for the pump, never fatal
        logger.exception("%s raised", function_name)
        return False, None


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of an SQS event, from a ``receive_message`` message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _sqs_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def dynamodb_record(raw: dict[str, Any], region: str) -> dict[str, Any]:
    """One record of a DynamoDB stream event, from a ``get_records`` record (no source ARN yet)."""
    stream = raw["dynamodb"]
    created = stream.get("ApproximateCreationDateTime")
    body: dict[str, Any] = {
        # Lambda sends whole epoch seconds here, not an ISO string.
        "ApproximateCreationDateTime": _epoch_seconds(created),
        "Keys": to_json_item(stream["Keys"]),
        "SequenceNumber": stream["SequenceNumber"],
        "SizeBytes": stream["SizeBytes"],
        "StreamViewType": stream["StreamViewType"],
    }
    for image in ("NewImage", "OldImage"):
        if image in stream:
            body[image] = to_json_item(stream[image])
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
    }


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for the rule ``rule_name``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def _sqs_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(part) for part in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    return attribute


def _epoch_seconds(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, (int, float)):
        return int(value)
    return int(datetime.now(UTC).timestamp())


def _b64(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else base64.b64encode(raw).decode("ascii")
