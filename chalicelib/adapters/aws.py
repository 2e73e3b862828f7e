"""Lazily created, reused AWS clients (nothing here calls AWS at import time)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    """One boto3 client per service per warm process, pointed at the stage's endpoint."""
    settings = get_settings()
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_CONFIG,
    )


@cache
def queue_url(queue_name: str) -> str:
    """The URL of a queue, looked up once per warm process."""
    return str(client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"])


def reset_clients() -> None:
    """Forget cached clients (tests start each moto world afresh)."""
    from chalicelib.adapters.dynamo import connection

    client.cache_clear()
    queue_url.cache_clear()
    connection.cache_clear()
