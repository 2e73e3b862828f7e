"""SQS queues → queue handlers, with Lambda's partial batch failures, visibility timeouts and DLQ."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, SQSEvent

from chalicelib.local.persistence import save_queue_messages
from chalicelib.local.sqs_pump import failed_message_ids
from tests.unit.local.conftest import Aws, PumpStarter, app_with, wait_for

SQS_RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}


def test_a_partial_batch_failure_redelivers_only_the_failed_message(aws: Aws, run_pump: PumpStarter) -> None:
    url, _ = aws.queue("jobs", visibility_timeout=1)
    for body in ("a", "b", "c"):
        aws.sqs.send_message(QueueUrl=url, MessageBody=body)
    deliveries: list[list[dict[str, Any]]] = []

    def register(bp: Blueprint) -> None:
        @bp.on_sqs_message(queue="jobs", batch_size=10)
        def handle_jobs(event: SQSEvent) -> dict[str, Any]:
            records = event.to_dict()["Records"]
            deliveries.append(records)
            failed = [r for r in records if r["body"] == "b" and r["attributes"]["ApproximateReceiveCount"] == "1"]
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}

    run_pump(app_with(register), queue_urls={"jobs": url})

    wait_for(lambda: len(deliveries) >= 2, timeout=6)
    assert sorted(r["body"] for r in deliveries[0]) == ["a", "b", "c"]
    assert [r["body"] for r in deliveries[1]] == ["b"]
    assert deliveries[1][0]["attributes"]["ApproximateReceiveCount"] == "2"
    # a and c were deleted after the first delivery, b after the second: nothing is left.
    wait_for(lambda: aws.queue_depth(url) == 0, timeout=2)


def test_records_have_the_shape_lambda_gives_them(aws: Aws, run_pump: PumpStarter) -> None:
    url, _ = aws.queue("shapes")
    aws.sqs.send_message(
        QueueUrl=url,
        MessageBody='{"hello": "world"}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    records: list[dict[str, Any]] = []

    def register(bp: Blueprint) -> None:
        @bp.on_sqs_message(queue="shapes", batch_size=5)
        def handle_shapes(event: SQSEvent) -> None:
            records.extend(event.to_dict()["Records"])

    run_pump(app_with(register), queue_urls={"shapes": url})

    (record,) = wait_for(lambda: records)
    assert set(record) >= SQS_RECORD_KEYS
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":shapes")
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "greeting"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"


def test_a_message_failing_max_receive_count_times_lands_in_the_dlq(aws: Aws, run_pump: PumpStarter) -> None:
    url, dlq_url = aws.queue("mail", visibility_timeout=1, max_receive_count=2)
    aws.sqs.send_message(QueueUrl=url, MessageBody="poison")
    attempts: list[str] = []
    handled: list[str] = []

    def register(bp: Blueprint) -> None:
        @bp.on_sqs_message(queue="mail", batch_size=1)
        def handle_mail(event: SQSEvent) -> None:
            for record in event:
                if record.body == "poison":
                    attempts.append(record.body)
                    raise RuntimeError("cannot deliver")
                handled.append(record.body)

    run_pump(app_with(register), queue_urls={"mail": url})

    wait_for(lambda: aws.queue_depth(dlq_url) == 1, timeout=8)
    assert attempts == ["poison", "poison"]
    assert aws.queue_depth(url) == 0
    # The handler's exceptions did not stop the poller.
    aws.sqs.send_message(QueueUrl=url, MessageBody="fine")
    wait_for(lambda: handled == ["fine"])


def test_a_clean_stop_makes_failed_messages_visible_so_they_can_be_saved(
    aws: Aws, run_pump: PumpStarter, tmp_path: Any
) -> None:
    url, dlq_url = aws.queue("slow", visibility_timeout=300)
    aws.sqs.send_message(QueueUrl=url, MessageBody="retry me")
    attempts: list[str] = []

    def register(bp: Blueprint) -> None:
        @bp.on_sqs_message(queue="slow", batch_size=1)
        def handle_slow(event: SQSEvent) -> dict[str, Any]:
            attempts.extend(record.body for record in event)
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event.to_dict()["Records"]]}

    pump = run_pump(app_with(register), queue_urls={"slow": url})
    wait_for(lambda: attempts)
    pump.stop()

    saved = save_queue_messages(aws.sqs, {"slow": url, "slow-dlq": dlq_url}, tmp_path / "queues.json")
    assert saved == 1


def test_an_unreadable_partial_response_fails_the_whole_batch() -> None:
    ids = ["m1", "m2"]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == {"m2"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "nope"}]}, ids) == {"m1", "m2"}
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids(None, ids) == set()
