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
from chalicelib.adapters.definitions import tables
from chalicelib.api import idempotency
from chalicelib.local import gateway
from chalicelib.local.demo import load_demo_data
from chalicelib.local.pump import EventPump, PumpClients
from chalicelib.local.resources import CreatedResources, create_all
from chalicelib.local.sandbox import SandboxCredentials, SandboxServer
from chalicelib.local.stack import bucket_plans, queue_plans, state_machine_plans
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


def create_resources() -> CreatedResources:
    """Everything the definitions declare, created as the local stack creates it."""
    settings = get_settings()
    clients = {name: boto3.client(name) for name in ("dynamodb", "sqs", "stepfunctions", "s3")}
    return create_all(clients, tables(), queue_plans(settings), state_machine_plans(settings), bucket_plans(settings))


@pytest.fixture
def moto_world() -> Iterator[CreatedResources]:
    # Step Functions executions run for real, calling back into the same in-process moto.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        aws.reset_clients()
        bootstrap.reset()
        idempotency.reset()
        yield create_resources()
    aws.reset_clients()
    bootstrap.reset()
    idempotency.reset()


@pytest.fixture
def pump(moto_world: CreatedResources) -> Iterator[EventPump]:
    """The local stack's event pump on the in-process moto: streams and queues reach the handlers."""
    from app import app

    clients = PumpClients(
        sqs=boto3.client("sqs"),
        dynamodb=boto3.client("dynamodb"),
        streams=boto3.client("dynamodbstreams"),
        region=get_settings().region,
    )
    event_pump = EventPump(
        app=app, clients=clients, tables=moto_world.streams, queue_urls=moto_world.queue_urls, journal=None
    )
    event_pump.start()
    yield event_pump
    event_pump.stop()


@pytest.fixture
def api(moto_world: CreatedResources) -> Iterator[Api]:
    from app import app

    gateway.install()
    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def demo(moto_world: CreatedResources) -> dict[str, Any]:
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
