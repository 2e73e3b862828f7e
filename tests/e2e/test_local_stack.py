"""The local stack, started as a developer starts it, answers and keeps its data across restarts."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest

from chalicelib.local.awsclients import aws_client
from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


def _get_json(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def _write_marker(stack: LocalStackProcess) -> tuple[str, dict[str, Any], str]:
    """Put one item straight into the first table; returns (table, key, marker)."""
    dynamodb = aws_client("dynamodb", stack.aws, "us-east-1")
    table = dynamodb.list_tables()["TableNames"][0]
    description = dynamodb.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    samples = {"S": {"S": f"e2e-{uuid.uuid4().hex}"}, "N": {"N": str(time.time_ns())}, "B": {"B": uuid.uuid4().bytes}}
    key = {k["AttributeName"]: samples[types[k["AttributeName"]]] for k in description["KeySchema"]}
    marker = uuid.uuid4().hex
    dynamodb.put_item(TableName=table, Item={**key, "e2e_marker": {"S": marker}})
    return table, key, marker


def _read_marker(stack: LocalStackProcess, table: str, key: dict[str, Any]) -> str | None:
    item = aws_client("dynamodb", stack.aws, "us-east-1").get_item(TableName=table, Key=key).get("Item")
    return item["e2e_marker"]["S"] if item else None


def test_health_answers(local_stack: LocalStackProcess) -> None:
    status, _ = _get_json(f"{local_stack.api}/health")
    assert status == 200


def test_the_sandbox_outbox_answers(local_stack: LocalStackProcess) -> None:
    status, body = _get_json(f"{local_stack.sandbox}/_sandbox/outbox")
    assert status == 200
    assert isinstance(body["items"], list)


def test_data_survives_a_clean_restart(local_stack: LocalStackProcess) -> None:
    table, key, marker = _write_marker(local_stack)

    local_stack.restart()

    assert _read_marker(local_stack, table, key) == marker


def test_data_journalled_a_second_before_a_kill_9_survives(local_stack: LocalStackProcess) -> None:
    table, key, marker = _write_marker(local_stack)
    time.sleep(1.2)  # the journal is flushed at least every second

    local_stack.kill()
    local_stack.start()

    assert _read_marker(local_stack, table, key) == marker
