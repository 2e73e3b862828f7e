"""Local data survives a restart: the journal replays into a fresh endpoint; a clean stop loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local.environment import Ports, load_chalice_config
from chalicelib.local.journal import DataDir, Journal, load_state
from chalicelib.local.persistence import replay_tables
from tests.unit.local.conftest import Aws, PumpStarter, TableSpec, app_with, free_port, wait_for

SPECS = (
    TableSpec("things", range_key=True),
    TableSpec("plain", stream_view_type=None),  # streamed locally only, for the journal
    TableSpec("keys", stream_view_type="KEYS_ONLY"),  # the journal reads the item itself
)


def _scan_all(aws: Aws) -> dict[str, list[dict[str, Any]]]:
    return {
        spec.name: sorted(aws.dynamodb.scan(TableName=spec.name)["Items"], key=lambda item: item["pk"]["S"])
        for spec in SPECS
    }


def _write_some_data(aws: Aws) -> int:
    """A mix of writes; returns how many stream records they make."""
    put = aws.dynamodb.put_item
    put(TableName="things", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "blob": {"B": b"\x00\x01"}})
    put(TableName="things", Item={"pk": {"S": "b"}, "sk": {"S": "1"}})
    aws.dynamodb.delete_item(TableName="things", Key={"pk": {"S": "b"}, "sk": {"S": "1"}})
    put(TableName="things", Item={"pk": {"S": "c"}, "sk": {"S": "1"}, "tags": {"SS": ["x", "y"]}})
    aws.dynamodb.update_item(
        TableName="things",
        Key={"pk": {"S": "c"}, "sk": {"S": "1"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    put(TableName="plain", Item={"pk": {"S": "p"}, "m": {"M": {"inner": {"L": [{"S": "v"}, {"BOOL": True}]}}}})
    put(TableName="keys", Item={"pk": {"S": "k"}, "v": {"N": "1"}})
    put(TableName="keys", Item={"pk": {"S": "k"}, "v": {"N": "2"}})
    return 8


def test_the_journal_alone_restores_everything_into_a_fresh_endpoint(
    aws: Aws, run_pump: PumpStarter, tmp_path: Path
) -> None:
    data = DataDir(tmp_path)
    journal = Journal(data.journal)
    pump = run_pump(app_with(lambda bp: None), tables=aws.tables(*SPECS), journal=journal)
    records = _write_some_data(aws)

    # The journal is on disk well within a second, without any stop or compaction.
    wait_for(lambda: len(data.journal.read_text().splitlines()) == records, timeout=1.5)
    before = _scan_all(aws)
    pump.stop()  # stops reading; nothing is compacted, as after a kill -9
    assert not data.snapshot.exists()

    aws.reset()
    fresh = aws.tables(*SPECS)
    written = replay_tables(aws.dynamodb, load_state(data), fresh)

    assert written == 4
    assert _scan_all(aws) == before


@pytest.fixture
def stack_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from chalicelib.local.stack import StackOptions  # the settings are read at import

    ports = Ports(api=free_port(), aws=free_port(), sandbox=free_port())
    monkeypatch.setenv("MOTO_PORT", str(ports.aws))  # the stack sets it; put it back afterwards
    project = Path(__file__).resolve().parents[3]
    yield StackOptions(
        ports=ports,
        data_dir=tmp_path / "data",
        project_dir=project,
        config_from_disk=load_chalice_config(project),
        app_module="tests.unit.local.fake_app",
        use_demo=False,
    )


def test_a_clean_stop_compacts_and_keeps_items_messages_and_objects(stack_options: Any) -> None:
    from chalicelib.local.stack import LocalStack, queue_plans

    stack = LocalStack(stack_options)
    stack.start()
    try:
        table = next(iter(stack.resources.streams))
        key = _key_for(stack, table)
        dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")
        dynamodb.put_item(TableName=table, Item={**key, "note": {"S": "kept"}})
        queue = queue_plans(stack.settings)[0].name
        sqs.send_message(
            QueueUrl=stack.resources.queue_urls[queue],
            MessageBody="still waiting",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "reminder"}},
        )
        buckets = stack.resources.buckets
        for bucket in buckets:
            stack.client("s3").put_object(Bucket=bucket, Key="kept.txt", Body=b"photo")
    finally:
        stack.stop()
    assert stack.data.journal.read_text() == ""
    assert "kept" in stack.data.snapshot.read_text()
    assert "still waiting" in stack.data.queues.read_text()

    again = LocalStack(stack_options)
    again.start()
    try:
        dynamodb, sqs = again.client("dynamodb"), again.client("sqs")
        assert dynamodb.get_item(TableName=table, Key=key)["Item"]["note"] == {"S": "kept"}
        messages = sqs.receive_message(QueueUrl=again.resources.queue_urls[queue], MessageAttributeNames=["All"])[
            "Messages"
        ]
        assert [m["Body"] for m in messages] == ["still waiting"]
        assert messages[0]["MessageAttributes"]["kind"]["StringValue"] == "reminder"
        assert not again.data.queues.exists()  # restored once, not twice
        for bucket in buckets:
            assert again.client("s3").get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"photo"
    finally:
        again.stop()


def _key_for(stack: Any, table: str) -> dict[str, Any]:
    description = stack.client("dynamodb").describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    samples = {"S": {"S": "local-stack-test"}, "N": {"N": "42"}, "B": {"B": b"k"}}
    return {k["AttributeName"]: samples[types[k["AttributeName"]]] for k in description["KeySchema"]}
