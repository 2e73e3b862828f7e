"""What the transform refuses: each case feeds a variation of Chalice's real output to it."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from infra.cfn import BuildError
from infra.groups import UndeclaredHandler, UnmappedRoute
from infra.template import build_template
from tests.infra.conftest import Built


def _sam(prod: Built) -> dict[str, Any]:
    return copy.deepcopy(prod.sam)


def _a_consumer(sam: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in sam["Resources"].items():
        events = resource.get("Properties", {}).get("Events", {})
        if any(e["Type"] == kind for e in events.values()):
            return logical_id, resource
    raise AssertionError(f"the app has no {kind} consumer")


def test_the_unchanged_chalice_output_builds(prod: Built) -> None:
    assert build_template(_sam(prod), prod.ctx, "k.zip")["Resources"]


def test_a_route_in_no_group_fails_the_build(prod: Built) -> None:
    sam = _sam(prod)
    paths = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    paths["/v2/unplanned"] = copy.deepcopy(paths["/health"])
    with pytest.raises(UnmappedRoute, match="/v2/unplanned"):
        build_template(sam, prod.ctx, "k.zip")


def test_an_undeclared_consumer_fails_the_build(prod: Built) -> None:
    sam = _sam(prod)
    _, consumer = _a_consumer(sam, "SQS")
    mystery = copy.deepcopy(consumer)
    module = mystery["Properties"]["Handler"].rsplit(".", 1)[0]
    mystery["Properties"]["Handler"] = f"{module}.mystery_consumer"
    mystery["Properties"]["Events"] = {
        "MysteryConsumerSqsEventSource": next(iter(consumer["Properties"]["Events"].values()))
    }
    sam["Resources"]["MysteryConsumer"] = mystery
    with pytest.raises(UndeclaredHandler, match="mystery_consumer"):
        build_template(sam, prod.ctx, "k.zip")


def test_a_queue_outside_the_definitions_fails_the_build(prod: Built) -> None:
    sam = _sam(prod)
    _, consumer = _a_consumer(sam, "SQS")
    event = next(iter(consumer["Properties"]["Events"].values()))
    event["Properties"]["Queue"] = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:elsewhere"}
    with pytest.raises(BuildError, match="elsewhere"):
        build_template(sam, prod.ctx, "k.zip")


def test_a_stream_of_an_unknown_table_fails_the_build(prod: Built) -> None:
    sam = _sam(prod)
    _, consumer = _a_consumer(sam, "DynamoDB")
    event = next(iter(consumer["Properties"]["Events"].values()))
    event["Properties"]["Stream"] = "arn:aws:dynamodb:us-east-1:123456789012:table/nobody/stream/latest"
    with pytest.raises(BuildError, match="nobody"):
        build_template(sam, prod.ctx, "k.zip")


def test_an_event_kind_infra_does_not_know_fails_the_build(prod: Built) -> None:
    sam = _sam(prod)
    _, consumer = _a_consumer(sam, "SQS")
    consumer["Properties"]["Events"] = {"Topic": {"Type": "SNS", "Properties": {"Topic": "arn:aws:sns:x:y:z"}}}
    with pytest.raises(BuildError, match="SNS"):
        build_template(sam, prod.ctx, "k.zip")


def test_a_secret_the_config_does_not_name_fails_the_build(prod: Built) -> None:
    environment = {k: v for k, v in prod.ctx.environment.items() if k != "JWT_SECRET_PARAM"}
    ctx = dataclasses.replace(prod.ctx, environment=environment)
    with pytest.raises(BuildError, match="JWT_SECRET_PARAM"):
        build_template(_sam(prod), ctx, "k.zip")


def test_a_consumer_slower_than_its_queue_fails_the_build(prod: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import groups

    sam = _sam(prod)
    _, consumer = _a_consumer(sam, "SQS")
    name = consumer["Properties"]["Handler"].rsplit(".", 1)[1]
    slow = dataclasses.replace(groups.HANDLERS[name], timeout_s=900)
    monkeypatch.setitem(groups.HANDLERS, name, slow)
    with pytest.raises(BuildError, match="visibility timeout"):
        build_template(sam, prod.ctx, "k.zip")


def test_a_throttle_on_a_route_the_api_lacks_fails_the_build(prod: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import groups

    monkeypatch.setitem(groups.ROUTE_THROTTLES, ("POST", "/v1/auth/sms/typo"), groups.Throttle(rate=1, burst=1))
    with pytest.raises(BuildError, match="/v1/auth/sms/typo"):
        build_template(_sam(prod), prod.ctx, "k.zip")
