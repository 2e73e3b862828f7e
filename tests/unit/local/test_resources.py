"""Tables, queues and state machines are created from the definitions, as infra/ deploys them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.local.persistence import restore_buckets, save_buckets
from chalicelib.local.resources import (
    JOURNAL_STREAM_VIEW,
    BucketPlan,
    StateMachinePlan,
    create_buckets,
    create_state_machines,
)
from chalicelib.settings import Settings, parse_settings
from tests.unit.local.conftest import Aws, TableSpec

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def test_tables_get_ttl_and_every_table_gets_a_stream(aws: Aws) -> None:
    streams = aws.tables(TableSpec("declared"), TableSpec("undeclared", stream_view_type=None, ttl_attribute="expires"))

    assert streams["declared"].declared and streams["declared"].view_type == "NEW_AND_OLD_IMAGES"
    assert not streams["undeclared"].declared and streams["undeclared"].view_type == JOURNAL_STREAM_VIEW
    ttl = aws.dynamodb.describe_time_to_live(TableName="undeclared")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")


def test_a_queue_redrives_to_its_dlq_after_max_receive_count(aws: Aws) -> None:
    url, dlq_url = aws.queue("orders", visibility_timeout=45, max_receive_count=4)

    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert attributes["VisibilityTimeout"] == "45"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}


def test_state_machines_are_created_and_a_bad_definition_is_named(aws: Aws) -> None:
    arns = create_state_machines(aws.clients["stepfunctions"], [StateMachinePlan("escalation", PASS_MACHINE)])
    assert arns["escalation"].endswith(":stateMachine:escalation")

    with pytest.raises(ValueError, match="state machine broken"):
        create_state_machines(aws.clients["stepfunctions"], [StateMachinePlan("broken", "{not json")])


@dataclass(frozen=True)
class _Machine:
    def name(self, settings: Settings) -> str:
        return f"{settings.resource_prefix}-escalation"

    def definition(self, settings: Settings) -> str:
        return PASS_MACHINE


def test_state_machines_and_buckets_declared_in_the_definitions_are_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.adapters import definitions
    from chalicelib.local.stack import bucket_plans, state_machine_plans

    settings = parse_settings({"STAGE": "local"})
    monkeypatch.setattr(definitions, "STATE_MACHINES", (_Machine(),), raising=False)
    monkeypatch.delattr(definitions, "BUCKETS", raising=False)

    assert state_machine_plans(settings) == [StateMachinePlan("weilinli-local-escalation", PASS_MACHINE)]
    assert bucket_plans(settings) == []


def test_bucket_objects_survive_a_save_and_restore(aws: Aws, tmp_path: Path) -> None:
    s3 = aws.clients["s3"]
    assert create_buckets(s3, [BucketPlan("photos", ("https://example.test",))]) == ["photos"]
    s3.put_object(Bucket="photos", Key="reports/r1/一.jpg", Body=b"\xff\xd8jpeg", ContentType="image/jpeg")
    cors = s3.get_bucket_cors(Bucket="photos")["CORSRules"][0]
    assert cors["AllowedOrigins"] == ["https://example.test"]

    assert save_buckets(s3, ["photos"], tmp_path / "s3") == 1
    aws.reset()
    create_buckets(s3, [BucketPlan("photos")])
    assert restore_buckets(s3, ["photos"], tmp_path / "s3") == 1

    stored = s3.get_object(Bucket="photos", Key="reports/r1/一.jpg")
    assert stored["Body"].read() == b"\xff\xd8jpeg"
    assert stored["ContentType"] == "image/jpeg"
