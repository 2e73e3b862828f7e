"""boto3 clients for the stack's own calls to the local AWS endpoint."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Retries stay low so a stuck endpoint shows up quickly; the read timeout leaves room for the
# pump's one-second SQS long polls.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=2,
    read_timeout=15,
    # A bucket name cannot be a subdomain of 127.0.0.1.
    s3={"addressing_style": "path"},
)


def aws_client(service: str, endpoint_url: str, region: str) -> Any:
    """A client for ``service`` at ``endpoint_url`` with dummy credentials (moto accepts any)."""
    session = boto3.session.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint_url, config=_CONFIG)
