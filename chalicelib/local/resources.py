"""Create the app's tables, queues and state machines on the local endpoint.

The specs come from ``chalicelib.adapters.definitions`` (the stack passes them in; this module
takes anything of the right shape so it can be tested without the app's settings).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# The journal reads every table's stream. A table whose definition has no stream gets the
# smallest view that still carries the item, on the local stack only.
JOURNAL_STREAM_VIEW = "NEW_IMAGE"
LOCAL_STATES_ROLE = "arn:aws:iam::123456789012:role/weilinli-local-states"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


class TableSpecLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def ttl_attribute(self) -> str | None: ...

    @property
    def stream_view_type(self) -> str | None: ...

    def create_table_kwargs(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class QueuePlan:
    """One queue and its dead-letter queue, with names already resolved for the stage."""

    name: str
    dlq_name: str
    visibility_timeout: int
    max_receive_count: int
    retention_seconds: int


@dataclass(frozen=True)
class StateMachinePlan:
    name: str
    definition: str


@dataclass(frozen=True)
class BucketPlan:
    name: str
    cors_origins: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class TableStream:
    """A table's stream as created locally."""

    table: str
    stream_arn: str
    view_type: str
    declared: bool  # False when the stream exists only for the journal


@dataclass
class CreatedResources:
    streams: dict[str, TableStream] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    buckets: list[str] = field(default_factory=list)


def create_tables(dynamodb: Any, specs: Iterable[TableSpecLike]) -> dict[str, TableStream]:
    """Create every table (on-demand, streams on, TTL enabled where declared)."""
    streams: dict[str, TableStream] = {}
    for spec in specs:
        kwargs = spec.create_table_kwargs()
        declared = spec.stream_view_type is not None
        if not declared:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": JOURNAL_STREAM_VIEW}
        description = dynamodb.create_table(**kwargs)["TableDescription"]
        if spec.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=spec.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        streams[spec.name] = TableStream(
            table=spec.name,
            stream_arn=description["LatestStreamArn"],
            view_type=kwargs["StreamSpecification"]["StreamViewType"],
            declared=declared,
        )
    return streams


def create_queues(sqs: Any, plans: Iterable[QueuePlan]) -> dict[str, str]:
    """Create every queue after its DLQ, with the redrive policy; returns queue name → URL."""
    urls: dict[str, str] = {}
    for plan in plans:
        dlq_url = sqs.create_queue(
            QueueName=plan.dlq_name,
            Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        )["QueueUrl"]
        dlq_attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        dlq_arn = dlq_attributes["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(plan.max_receive_count)}
        urls[plan.name] = sqs.create_queue(
            QueueName=plan.name,
            Attributes={
                "VisibilityTimeout": str(plan.visibility_timeout),
                "MessageRetentionPeriod": str(plan.retention_seconds),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        urls[plan.dlq_name] = dlq_url
    return urls


def create_state_machines(
    stepfunctions: Any, plans: Iterable[StateMachinePlan], role_arn: str = LOCAL_STATES_ROLE
) -> dict[str, str]:
    """Create every state machine; returns name → ARN."""
    arns: dict[str, str] = {}
    for plan in plans:
        try:
            json.loads(plan.definition)
        except ValueError as exc:
            # Fail here, naming the machine, rather than at its first execution.
            raise ValueError(f"state machine {plan.name}: definition is not JSON ({exc})") from exc
        arns[plan.name] = stepfunctions.create_state_machine(
            name=plan.name, definition=plan.definition, roleArn=role_arn
        )["stateMachineArn"]
    return arns


def create_buckets(s3: Any, plans: Iterable[BucketPlan]) -> list[str]:
    """Create every bucket, with CORS for the browser and mini-program uploads; returns the names."""
    names = []
    for plan in plans:
        s3.create_bucket(Bucket=plan.name)
        s3.put_bucket_cors(
            Bucket=plan.name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": list(plan.cors_origins),
                        "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 3000,
                    }
                ]
            },
        )
        names.append(plan.name)
    return names


def create_all(
    clients: dict[str, Any],
    tables: Iterable[TableSpecLike],
    queues: Iterable[QueuePlan],
    state_machines: Iterable[StateMachinePlan] = (),
    buckets: Iterable[BucketPlan] = (),
) -> CreatedResources:
    """Create everything; ``clients`` maps service name → boto3 client."""
    created = CreatedResources(
        streams=create_tables(clients["dynamodb"], tables),
        queue_urls=create_queues(clients["sqs"], queues),
        state_machine_arns=create_state_machines(clients["stepfunctions"], state_machines),
        buckets=create_buckets(clients["s3"], buckets),
    )
    logger.info(
        "created %d tables, %d queues, %d state machines, %d buckets",
        len(created.streams),
        len(created.queue_urls),
        len(created.state_machine_arns),
        len(created.buckets),
    )
    return created
