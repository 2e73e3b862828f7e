"""Fixtures for the local stack's tests: one moto server for the session, reset for every test."""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice.app import Blueprint, Chalice
from moto.server import ThreadedMotoServer

from chalicelib.local.awsclients import aws_client
from chalicelib.local.journal import Journal
from chalicelib.local.pump import EventPump, PumpClients, PumpOptions
from chalicelib.local.resources import QueuePlan, TableStream, create_queues, create_tables
from chalicelib.local.stream_pump import RetryPolicy

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass(frozen=True)
class TableSpec:
    """The shape of ``chalicelib.adapters.definitions.TableSpec``, without the app's settings."""

    name: str
    stream_view_type: str | None = "NEW_AND_OLD_IMAGES"
    ttl_attribute: str | None = None
    range_key: bool = False

    def create_table_kwargs(self) -> dict[str, Any]:
        keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
        attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
        if self.range_key:
            keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
            attributes.append({"AttributeName": "sk", "AttributeType": "S"})
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": keys,
            "AttributeDefinitions": attributes,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.stream_view_type:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream_view_type}
        return kwargs


@dataclass
class Aws:
    url: str
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def dynamodb(self) -> Any:
        return self.clients["dynamodb"]

    @property
    def streams(self) -> Any:
        return self.clients["dynamodbstreams"]

    @property
    def sqs(self) -> Any:
        return self.clients["sqs"]

    def reset(self) -> None:
        """Empty the endpoint, as a fresh process would find it."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def tables(self, *specs: TableSpec) -> dict[str, TableStream]:
        return create_tables(self.dynamodb, specs)

    def queue(self, name: str, visibility_timeout: int = 1, max_receive_count: int = 5) -> tuple[str, str]:
        """Create ``name`` and its DLQ; returns (queue URL, DLQ URL)."""
        plan = QueuePlan(name, f"{name}-dlq", visibility_timeout, max_receive_count, 3600)
        urls = create_queues(self.sqs, [plan])
        return urls[name], urls[f"{name}-dlq"]

    def queue_depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str) -> Aws:
    """A moto endpoint with nothing in it."""
    services = ("dynamodb", "dynamodbstreams", "sqs", "stepfunctions", "s3")
    endpoint = Aws(moto_url, {service: aws_client(service, moto_url, REGION) for service in services})
    endpoint.reset()
    return endpoint


def app_with(register: Callable[[Blueprint], None], name: str = "pump-test") -> Chalice:
    """A real Chalice app whose handlers ``register`` declares on a blueprint."""
    app = Chalice(app_name=name)
    blueprint = Blueprint(__name__)
    register(blueprint)
    app.register_blueprint(blueprint)
    return app


PumpStarter = Callable[..., EventPump]


@pytest.fixture
def run_pump(aws: Aws) -> Iterator[PumpStarter]:
    """Start an event pump on the test endpoint; every pump is stopped after the test."""
    pumps: list[EventPump] = []

    def start(
        app: Chalice,
        tables: dict[str, TableStream] | None = None,
        queue_urls: dict[str, str] | None = None,
        journal: Journal | None = None,
        **options: Any,
    ) -> EventPump:
        defaults: dict[str, Any] = {"stream_retry": RetryPolicy(max_retries=2, first_delay=0.05), "drain_timeout": 2.0}
        pump = EventPump(
            app=app,
            clients=PumpClients(aws.sqs, aws.dynamodb, aws.streams, REGION),
            tables=tables or {},
            queue_urls=queue_urls or {},
            journal=journal,
            options=PumpOptions(**{**defaults, **options}),
        )
        pump.start()
        pumps.append(pump)
        return pump

    yield start
    for pump in pumps:
        pump.stop()
