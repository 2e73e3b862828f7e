"""Lambda functions from Chalice's: each with its own log group, role, size and event sources.

Chalice's SAM output describes functions as ``AWS::Serverless::Function`` with ``Events``; this
module writes plain CloudFormation (``AWS::Lambda::Function``, ``AWS::Lambda::EventSourceMapping``,
``AWS::Events::Rule``) so that cfn-lint checks the resources AWS will really create, and so the
event sources carry what Chalice cannot say: partial batch failures, bounded concurrency, and a
failure destination for streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.definitions import PHOTOS, QUEUES, QueueSpec, TableSpec, tables
from infra import data
from infra.cfn import (
    NO_VALUE,
    BuildError,
    Json,
    Template,
    bucket_id,
    camel,
    dashed,
    failures_queue_id,
    get_att,
    if_,
    log_group_id,
    queue_id,
    ref,
    role_id,
    table_id,
)
from infra.groups import Access, handler_spec
from infra.policies import Triggers, function_statements, lambda_role
from infra.stages import BuildContext

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
RESERVE_CONDITION = "ReserveConcurrency"
ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_KEY = "ArtifactKey"
BATCH_ITEM_FAILURES = ["ReportBatchItemFailures"]
STREAM_MAX_RETRIES = 10

# What this transform understands of Chalice's function properties; anything new is an error
# rather than something silently dropped.
_KNOWN = frozenset(
    {
        "Runtime",
        "Handler",
        "CodeUri",
        "Tags",
        "Tracing",
        "Timeout",
        "MemorySize",
        "Architectures",
        "Environment",
        "Role",
        "Events",
        "ReservedConcurrentExecutions",
        "Layers",
        "VpcConfig",
    }
)
# The event-source properties Chalice writes, per kind; anything else is an error, not dropped.
_EVENT_PROPERTIES: dict[str, frozenset[str]] = {
    "SQS": frozenset({"Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "ScalingConfig"}),
    "DynamoDB": frozenset({"Stream", "BatchSize", "StartingPosition", "MaximumBatchingWindowInSeconds"}),
    "Schedule": frozenset({"Schedule", "Description"}),
    "CloudWatchEvent": frozenset({"Pattern"}),
}


@dataclass
class FunctionPlan:
    logical_id: str
    name: str
    label: str  # for messages: "endpoint group reports", "handler deliver_notifications"
    base: Json  # Chalice's properties for it
    access: Access
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    reserved: int | None = None
    triggers: Triggers = field(default_factory=Triggers)


@dataclass
class Inventory:
    """What monitoring needs to know about the functions and queues the transform made."""

    functions: list[tuple[str, str]] = field(default_factory=list)  # (logical id, function name)
    failure_queues: list[str] = field(default_factory=list)  # logical ids
    event_sources: list[str] = field(default_factory=list)  # logical ids of the mappings


def check_properties(logical_id: str, properties: Json) -> None:
    unknown = sorted(set(properties) - _KNOWN)
    if unknown:
        raise BuildError(f"Chalice's function {logical_id} has {', '.join(unknown)}, which infra/ does not carry over")


def environment(base: Json, ctx: BuildContext) -> Json:
    variables: Json = dict(base.get("Environment", {}).get("Variables", {}))
    variables.update(
        {
            "RESOURCE_PREFIX": ctx.prefix,
            "AWS_ACCOUNT_ID": ref("AWS::AccountId"),
            "PHOTOS_BUCKET": ref(bucket_id(PHOTOS.logical)),
        }
    )
    return variables


def add_function(template: Template, plan: FunctionPlan, ctx: BuildContext, inventory: Inventory) -> None:
    check_properties(plan.logical_id, plan.base)
    log_group = template.add(
        log_group_id(plan.logical_id),
        {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{plan.name}",
                "RetentionInDays": ctx.log_retention(plan.log_retention_days),
            },
        },
    )
    role = template.add(
        role_id(plan.logical_id),
        lambda_role(function_statements(plan.access, plan.triggers, log_group, ctx, plan.label), ctx),
    )
    properties: Json = {
        "FunctionName": plan.name,
        "Description": f"{ctx.app_name} {ctx.stage}: {plan.label}",
        "Handler": plan.base["Handler"],
        "Runtime": plan.base["Runtime"],
        "Architectures": plan.base.get("Architectures", ["x86_64"]),
        "Code": {"S3Bucket": ref(ARTIFACT_BUCKET), "S3Key": ref(ARTIFACT_KEY)},
        "Role": get_att(role, "Arn"),
        "MemorySize": plan.memory_mb,
        "Timeout": plan.timeout_s,
        "Environment": {"Variables": environment(plan.base, ctx)},
        "LoggingConfig": {"LogGroup": ref(log_group), "LogFormat": "Text"},
        "TracingConfig": {"Mode": "Active" if plan.base.get("Tracing") == "Active" else "PassThrough"},
        "Tags": [
            {"Key": "app", "Value": ctx.app_name},
            {"Key": "stage", "Value": ctx.stage},
            *({"Key": str(k), "Value": str(v)} for k, v in plan.base.get("Tags", {}).items()),
        ],
    }
    if plan.reserved is not None:
        properties["ReservedConcurrentExecutions"] = if_(RESERVE_CONDITION, plan.reserved, NO_VALUE)
    for optional in ("Layers", "VpcConfig"):
        if optional in plan.base:
            properties[optional] = plan.base[optional]
    template.add(plan.logical_id, {"Type": "AWS::Lambda::Function", "Properties": properties})
    inventory.functions.append((plan.logical_id, plan.name))


# --- consumers ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return str(value["Fn::Sub"])
    if isinstance(value, str):
        return value
    raise BuildError(f"cannot read an ARN from {value!r}")


def _queue_for(value: Any, ctx: BuildContext) -> QueueSpec:
    name = _text(value).rsplit(":", 1)[-1]
    by_name = {ctx.settings.queue_name(spec.logical): spec for spec in QUEUES}
    if name not in by_name:
        raise BuildError(f"a handler consumes the queue {name}, which definitions.QUEUES does not define")
    return by_name[name]


def _table_for(value: Any, ctx: BuildContext) -> TableSpec:
    match = re.search(r":table/([^/]+)/stream/", _text(value))
    by_name = {ctx.settings.table_name(spec.logical): spec for spec in tables()}
    if not match or match.group(1) not in by_name:
        raise BuildError(f"a handler reads the stream {_text(value)}, whose table definitions.tables() lacks")
    spec = by_name[match.group(1)]
    if not spec.stream_view_type:
        raise BuildError(f"a handler reads the stream of {spec.logical}, whose record declares no stream")
    return spec


def _sqs_source(template: Template, plan: FunctionPlan, event_id: str, props: Json, ctx: BuildContext) -> str:
    queue = _queue_for(props["Queue"], ctx)
    if plan.timeout_s > queue.visibility_timeout:
        raise BuildError(
            f"{plan.label} may run {plan.timeout_s} s, longer than queue {queue.logical}'s visibility timeout "
            f"({queue.visibility_timeout} s): Lambda refuses the mapping"
        )
    plan.triggers.queues.add(queue.logical)
    spec = handler_spec(plan.base["Handler"].rsplit(".", 1)[-1])
    # A maximum_concurrency in the code (Chalice's ScalingConfig) wins over infra's default.
    scaling = props.get("ScalingConfig") or {"MaximumConcurrency": spec.max_concurrency}
    return template.add(
        event_id,
        {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": ref(plan.logical_id),
                "EventSourceArn": get_att(queue_id(queue.logical), "Arn"),
                "BatchSize": props.get("BatchSize", queue.batch_size),
                "MaximumBatchingWindowInSeconds": props.get("MaximumBatchingWindowInSeconds", 0),
                "FunctionResponseTypes": BATCH_ITEM_FAILURES,
                "ScalingConfig": scaling,
            },
        },
    )


def _stream_source(template: Template, plan: FunctionPlan, event_id: str, props: Json, ctx: BuildContext) -> str:
    table = _table_for(props["Stream"], ctx)
    plan.triggers.streams.add(table.logical)
    failures = template.add(failures_queue_id(plan.logical_id), data.failures_queue(ctx, plan.name))
    plan.triggers.failure_queues.add(failures)
    spec = handler_spec(plan.base["Handler"].rsplit(".", 1)[-1])
    return template.add(
        event_id,
        {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": ref(plan.logical_id),
                "EventSourceArn": get_att(table_id(table.logical), "StreamArn"),
                "StartingPosition": props.get("StartingPosition", "LATEST"),
                "BatchSize": props.get("BatchSize", 100),
                "MaximumBatchingWindowInSeconds": props.get("MaximumBatchingWindowInSeconds", 0),
                "FunctionResponseTypes": BATCH_ITEM_FAILURES,
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": STREAM_MAX_RETRIES,
                "ParallelizationFactor": spec.parallelization,
                "DestinationConfig": {"OnFailure": {"Destination": get_att(failures, "Arn")}},
            },
        },
    )


def _rule_source(template: Template, plan: FunctionPlan, event_id: str, kind: str, props: Json) -> str:
    rule: Json = {
        "State": "ENABLED",
        "Description": props.get("Description") or f"{plan.name} ({kind.lower()})",
        "Targets": [{"Arn": get_att(plan.logical_id, "Arn"), "Id": plan.logical_id}],
    }
    if kind == "Schedule":
        rule["ScheduleExpression"] = props["Schedule"]
    else:
        rule["EventPattern"] = props["Pattern"]
    rule_id = template.add(event_id, {"Type": "AWS::Events::Rule", "Properties": rule})
    template.add(
        f"{rule_id}Permission",
        {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": ref(plan.logical_id),
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(rule_id, "Arn"),
            },
        },
    )
    return rule_id


def add_handler(template: Template, logical_id: str, resource: Json, ctx: BuildContext, inventory: Inventory) -> None:
    """A Chalice function other than the API handler (authorizer, queue, stream or schedule)."""
    base: Json = resource["Properties"]
    name = str(base["Handler"]).rsplit(".", 1)[-1]
    if logical_id != camel(name):
        raise BuildError(f"Chalice's function {logical_id} runs {base['Handler']}; expected {camel(name)}")
    spec = handler_spec(name)
    plan = FunctionPlan(
        logical_id=logical_id,
        name=ctx.function_name(dashed(name)),
        label=f"handler {name}",
        base=base,
        access=spec.access,
        memory_mb=spec.memory_mb,
        timeout_s=spec.timeout_s,
        log_retention_days=spec.log_retention_days,
    )
    for event_id, event in base.get("Events", {}).items():
        kind, props = event["Type"], event.get("Properties", {})
        if kind not in _EVENT_PROPERTIES:
            raise BuildError(f"{plan.label} has a {kind} event source, which infra/ does not handle yet")
        unknown = sorted(set(props) - _EVENT_PROPERTIES[kind])
        if unknown:
            raise BuildError(f"{plan.label}'s {kind} event has {', '.join(unknown)}, which infra/ does not carry over")
        if kind == "SQS":
            inventory.event_sources.append(_sqs_source(template, plan, event_id, props, ctx))
        elif kind == "DynamoDB":
            inventory.event_sources.append(_stream_source(template, plan, event_id, props, ctx))
            inventory.failure_queues.append(failures_queue_id(logical_id))
        else:
            _rule_source(template, plan, event_id, kind, props)
    add_function(template, plan, ctx, inventory)
