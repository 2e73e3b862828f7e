"""The one set of resource definitions: tables (from the PynamoDB records) and queues.

The local stack creates exactly these, and ``infra/`` turns the same specs into CloudFormation,
so what runs on a laptop is what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.adapters.records import ALL_RECORDS
from chalicelib.settings import Settings


@dataclass(frozen=True)
class TableSpec:
    logical: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]
    stream_view_type: str | None
    ttl_attribute: str | None

    def create_table_kwargs(self) -> dict[str, Any]:
        """Arguments for boto3's ``create_table``: on-demand, streams when the spec has them."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.global_secondary_indexes:
            kwargs["GlobalSecondaryIndexes"] = self.global_secondary_indexes
        if self.stream_view_type:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream_view_type}
        return kwargs


@dataclass(frozen=True)
class QueueSpec:
    logical: str
    visibility_timeout: int = 60
    max_receive_count: int = 5
    retention_seconds: int = 4 * 24 * 3600
    batch_size: int = 10

    @property
    def dlq_logical(self) -> str:
        return f"{self.logical}-dlq"


def _hash_first(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
    # DynamoDB wants the HASH element before the RANGE one; PynamoDB lists them as declared.
    return sorted(key_schema, key=lambda element: element["KeyType"] != "HASH")


def table_spec(record: type[Model]) -> TableSpec:
    schema = record._get_schema()
    gsis = []
    for index in schema.get("global_secondary_indexes", []):
        gsis.append(
            {
                "IndexName": index["index_name"],
                "KeySchema": _hash_first(index["key_schema"]),
                "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
            }
        )
    ttl = next(
        (attr.attr_name for attr in record.get_attributes().values() if isinstance(attr, TTLAttribute)),
        None,
    )
    return TableSpec(
        logical=str(record.Meta.logical_name),  # type: ignore[attr-defined]
        name=record.Meta.table_name,
        key_schema=_hash_first([{k: str(v) for k, v in element.items()} for element in schema["key_schema"]]),
        attribute_definitions=[{k: str(v) for k, v in attr.items()} for attr in schema["attribute_definitions"]],
        global_secondary_indexes=gsis,
        stream_view_type=getattr(record.Meta, "stream_view_type", None),
        ttl_attribute=ttl,
    )


# Queues the app sends to and consumes (each gets a DLQ with redrive after max_receive_count).
NOTIFICATIONS = QueueSpec("notifications", visibility_timeout=60, max_receive_count=5)
REPORT_EVENTS = QueueSpec("report-events", visibility_timeout=60, max_receive_count=5)
INBOUND = QueueSpec("inbound", visibility_timeout=60, max_receive_count=5)  # WeChat and SMS messages
QUEUES: tuple[QueueSpec, ...] = (NOTIFICATIONS, REPORT_EVENTS, INBOUND)

INFRA = Path(__file__).resolve().parents[2] / "infra"


@dataclass(frozen=True)
class StateMachineSpec:
    """A Step Functions state machine whose definition is a file in ``infra/``.

    Its ``${...}`` names stand for tables and queues; ``infra/`` passes them to CloudFormation as
    DefinitionSubstitutions, the local stack fills them in from settings.
    """

    logical: str
    file: str
    tables: dict[str, str]  # ${name} → logical table
    queue_urls: dict[str, str]  # ${name} → logical queue

    def name(self, settings: Settings) -> str:
        return f"{settings.resource_prefix}-{self.logical}"

    def template(self) -> str:
        return (INFRA / self.file).read_text(encoding="utf-8")

    def definition(self, settings: Settings) -> str:
        text = self.template()
        for name, logical in self.tables.items():
            text = text.replace("${" + name + "}", settings.table_name(logical))
        for name, logical in self.queue_urls.items():
            text = text.replace("${" + name + "}", settings.queue_url(logical))
        return text


ESCALATION = StateMachineSpec(
    logical="escalation",
    file="escalation.asl.json",
    tables={"ReportsTable": "reports"},
    queue_urls={"ReportEventsQueueUrl": REPORT_EVENTS.logical},
)
STATE_MACHINES: tuple[StateMachineSpec, ...] = (ESCALATION,)


@dataclass(frozen=True)
class BucketSpec:
    logical: str
    cors_origins: tuple[str, ...] = ("*",)  # browsers and mini-programs upload straight to S3

    def name(self, settings: Settings) -> str:
        return settings.photos_bucket if self.logical == "photos" else f"{settings.resource_prefix}-{self.logical}"


PHOTOS = BucketSpec("photos")
BUCKETS: tuple[BucketSpec, ...] = (PHOTOS,)


def tables() -> list[TableSpec]:
    return [table_spec(record) for record in ALL_RECORDS]


def queue_names(settings: Settings, spec: QueueSpec) -> tuple[str, str]:
    """(queue name, dead-letter queue name) on this stage."""
    return settings.queue_name(spec.logical), settings.queue_name(spec.dlq_logical)
