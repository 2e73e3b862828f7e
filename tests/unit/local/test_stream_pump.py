"""DynamoDB streams → stream handlers, shaped like Lambda's records, retried like Lambda retries."""

from __future__ import annotations

import base64
import itertools
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.app import Blueprint, DynamoDBEvent

from chalicelib.local.moto_internals import ShardIteratorJanitor
from tests.unit.local.conftest import Aws, PumpStarter, TableSpec, app_with, wait_for

THINGS_STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/things/stream/2020-01-01T00:00:00.000"


def _flat(deliveries: list[list[str]]) -> list[str]:
    return list(itertools.chain.from_iterable(deliveries))


def _put(aws: Aws, pk: str, **extra: Any) -> None:
    aws.dynamodb.put_item(TableName="things", Item={"pk": {"S": pk}, "sk": {"S": "1"}, **extra})


def test_stream_records_reach_the_handler_in_lambdas_shape(aws: Aws, run_pump: PumpStarter) -> None:
    tables = aws.tables(TableSpec("things", range_key=True))
    _put(aws, "before-start")  # already there when the pump starts: not news
    records: list[dict[str, Any]] = []
    table_names: list[str] = []

    def register(bp: Blueprint) -> None:
        @bp.on_dynamodb_record(stream_arn=THINGS_STREAM, batch_size=100)
        def on_things(event: DynamoDBEvent) -> None:
            records.extend(event.to_dict()["Records"])
            table_names.extend(record.table_name for record in event)  # Chalice can parse them

    run_pump(app_with(register), tables=tables)
    _put(aws, "a", blob={"B": b"\x00\xff"})
    _put(aws, "a", blob={"B": b"\x00\xff"}, n={"N": "2"})
    aws.dynamodb.delete_item(TableName="things", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})

    wait_for(lambda: len(records) >= 3)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventVersion"] == "1.1"
    assert insert["awsRegion"] == "us-east-1"
    assert insert["eventSourceARN"] == THINGS_STREAM
    stream = insert["dynamodb"]
    assert stream["Keys"] == {"pk": {"S": "a"}, "sk": {"S": "1"}}
    assert stream["NewImage"]["blob"] == {"B": base64.b64encode(b"\x00\xff").decode()}
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(stream["ApproximateCreationDateTime"], int)
    assert isinstance(stream["SizeBytes"], int)
    assert int(modify["dynamodb"]["SequenceNumber"]) > int(stream["SequenceNumber"])
    assert "n" not in modify["dynamodb"]["OldImage"]
    assert modify["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"]
    assert table_names == ["things"] * 3


def test_a_failing_stream_batch_is_retried_until_it_succeeds(aws: Aws, run_pump: PumpStarter) -> None:
    tables = aws.tables(TableSpec("things", range_key=True))
    attempts: list[list[str]] = []

    def register(bp: Blueprint) -> None:
        @bp.on_dynamodb_record(stream_arn=THINGS_STREAM, batch_size=100)
        def on_things(event: DynamoDBEvent) -> None:
            attempts.append([record.sequence_number for record in event])
            if len(attempts) < 3:
                raise RuntimeError("flaky downstream")

    run_pump(app_with(register), tables=tables)
    _put(aws, "a")

    wait_for(lambda: len(attempts) >= 3)
    time.sleep(0.3)
    assert len(attempts) == 3
    assert attempts[0] == attempts[1] == attempts[2]


def test_a_batch_that_keeps_failing_is_given_up_after_the_retries(aws: Aws, run_pump: PumpStarter) -> None:
    tables = aws.tables(TableSpec("things", range_key=True))
    seen: list[str] = []

    def register(bp: Blueprint) -> None:
        @bp.on_dynamodb_record(stream_arn=THINGS_STREAM, batch_size=100)
        def on_things(event: DynamoDBEvent) -> None:
            keys = [record.keys["pk"]["S"] for record in event]
            seen.extend(keys)
            if "poison" in keys:
                raise RuntimeError("never works")

    run_pump(app_with(register), tables=tables)  # two retries
    _put(aws, "poison")
    wait_for(lambda: seen.count("poison") == 3)
    _put(aws, "next")

    wait_for(lambda: "next" in seen)
    assert seen.count("poison") == 3


def test_a_partial_stream_failure_resends_from_the_failed_record_on(aws: Aws, run_pump: PumpStarter) -> None:
    tables = aws.tables(TableSpec("things", range_key=True))
    deliveries: list[list[str]] = []

    def register(bp: Blueprint) -> None:
        @bp.on_dynamodb_record(stream_arn=THINGS_STREAM, batch_size=100)
        def on_things(event: DynamoDBEvent) -> dict[str, Any]:
            records = list(event)
            deliveries.append([record.keys["pk"]["S"] for record in records])
            first_b = _flat(deliveries).count("b") == 1
            failed = [r for r in records if r.keys["pk"]["S"] == "b"] if first_b else []
            return {"batchItemFailures": [{"itemIdentifier": r.sequence_number} for r in failed]}

    run_pump(app_with(register), tables=tables)
    for pk in ("a", "b", "c"):
        _put(aws, pk)

    wait_for(lambda: _flat(deliveries).count("b") == 2 and "c" in _flat(deliveries))
    assert _flat(deliveries).count("a") == 1  # before the failure: checkpointed, never resent
    failed_at = next(i for i, d in enumerate(deliveries) if "b" in d)
    assert deliveries[failed_at + 1][0] == "b"  # the resend starts at the failed record


def test_writes_after_a_failed_transaction_still_reach_the_handler(aws: Aws, run_pump: PumpStarter) -> None:
    # moto rolls a failed transaction back by swapping in a copy of the table, stream included.
    tables = aws.tables(TableSpec("things", range_key=True))
    seen: list[str] = []

    def register(bp: Blueprint) -> None:
        @bp.on_dynamodb_record(stream_arn=THINGS_STREAM, batch_size=100)
        def on_things(event: DynamoDBEvent) -> None:
            seen.extend(record.keys["pk"]["S"] for record in event)

    run_pump(app_with(register), tables=tables)
    _put(aws, "a")
    wait_for(lambda: seen == ["a"])
    with pytest.raises(ClientError, match="TransactionCanceled"):
        aws.dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "things", "Item": {"pk": {"S": "rolled-back"}, "sk": {"S": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "things",
                        "Key": {"pk": {"S": "missing"}, "sk": {"S": "1"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    _put(aws, "c")

    wait_for(lambda: "c" in seen)
    assert seen == ["a", "c"]


def test_old_shard_iterators_are_dropped(aws: Aws) -> None:
    tables = aws.tables(TableSpec("things"))
    stream = tables["things"].stream_arn
    shard = aws.streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = aws.streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    janitor = ShardIteratorJanitor(max_age=0.0)

    janitor.sweep_if_due()  # seen once: kept
    aws.streams.get_records(ShardIterator=iterator["ShardIterator"])
    assert janitor.sweep_if_due() >= 1  # seen twice: dropped

    with pytest.raises(ClientError):
        aws.streams.get_records(ShardIterator=iterator["ShardIterator"])
