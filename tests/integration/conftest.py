"""Integration tests: the real routes through chalice.test.Client, on moto in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.adapters.definitions import QUEUES, queue_names, tables
from chalicelib.api import idempotency
from chalicelib.local import gateway
from chalicelib.local.demo import load_demo_data
from chalicelib.local.resources import QueuePlan, create_queues, create_tables
from chalicelib.local.sandbox import SandboxCredentials, SandboxServer
from chalicelib.settings import get_settings
from tests.conftest import SANDBOX_PORT


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """JSON calls through Chalice's local gateway, with the authorizer running as in AWS."""

    def __init__(self, client: Client) -> None:
        self._http = client.http

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self._http.request(method, path, headers=sent, body=payload)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body.decode()
        return Answer(response.status_code, parsed, dict(response.headers))

    def get(self, path: str, token: str | None = None, **kw: Any) -> Answer:
        return self.call("GET", path, token=token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Answer:
        return self.call("POST", path, body, token=token, **kw)


def create_resources() -> None:
    settings = get_settings()
    create_tables(boto3.client("dynamodb"), tables())
    plans = []
    for spec in QUEUES:
        name, dlq = queue_names(settings, spec)
        plans.append(QueuePlan(name, dlq, spec.visibility_timeout, spec.max_receive_count, spec.retention_seconds))
    create_queues(boto3.client("sqs"), plans)


@pytest.fixture
def moto_world() -> Iterator[None]:
    with mock_aws():
        aws.reset_clients()
        bootstrap.reset()
        idempotency.reset()
        create_resources()
        yield
    aws.reset_clients()
    bootstrap.reset()
    idempotency.reset()


@pytest.fixture
def api(moto_world: None) -> Iterator[Api]:
    from app import app

    gateway.install()
    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def demo(moto_world: None) -> dict[str, Any]:
    """The original system's tree and people (the same data the local stack loads)."""
    return load_demo_data()


def token_of(demo: dict[str, Any], key: str) -> str:
    return next(token for label, token in demo["tokens"].items() if label.startswith(f"{key} "))


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    settings = get_settings()
    server = SandboxServer(
        "127.0.0.1",
        SANDBOX_PORT,
        SandboxCredentials(sms_auth_token=settings.sms_auth_token, wechat_app_secret=settings.wechat_app_secret),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The providers' stand-in, emptied for each test."""
    sandbox_server.outbox.clear()
    return sandbox_server


def last_sms_code(sandbox: SandboxServer, phone: str) -> str:
    body = str(sandbox.outbox.items(channel="sms", to=phone)[-1]["body"])
    return next(word for word in body.replace("，", " ").split() if word.isdigit() and len(word) == 6)
