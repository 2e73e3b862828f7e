"""Tables, queues, the photo bucket and the state machines, from the app's own definitions.

``chalicelib.adapters.definitions`` is what the local stack creates; this module deploys the same
specs, adding only what AWS has and moto does not (point-in-time recovery, retention policies,
bucket hardening).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.definitions import BUCKETS, QUEUES, STATE_MACHINES, StateMachineSpec, tables
from infra.cfn import (
    BuildError,
    Json,
    Template,
    arn,
    bucket_id,
    dlq_id,
    get_att,
    queue_id,
    ref,
    state_machine_id,
    sub,
    table_id,
)
from infra.stages import BuildContext

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the most SQS keeps: time to look and redrive
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _tags(ctx: BuildContext) -> list[Json]:
    return [{"Key": "app", "Value": ctx.app_name}, {"Key": "stage", "Value": ctx.stage}]


def _retention(ctx: BuildContext) -> Json:
    policy = "Retain" if ctx.profile.retain_data else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


# Queues hold work in flight, not records: they go with the stack.
_TRANSIENT: Json = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}


def add_tables(template: Template, ctx: BuildContext) -> None:
    for spec in tables():
        properties: Json = {
            "TableName": ctx.settings.table_name(spec.logical),
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": spec.key_schema,
            "AttributeDefinitions": spec.attribute_definitions,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": ctx.profile.retain_data,
            "Tags": _tags(ctx),
        }
        if spec.global_secondary_indexes:
            properties["GlobalSecondaryIndexes"] = spec.global_secondary_indexes
        if spec.stream_view_type:
            properties["StreamSpecification"] = {"StreamViewType": spec.stream_view_type}
        if spec.ttl_attribute:
            properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
        template.add(
            table_id(spec.logical), {"Type": "AWS::DynamoDB::Table", **_retention(ctx), "Properties": properties}
        )


def add_queues(template: Template, ctx: BuildContext) -> None:
    for spec in QUEUES:
        dead = template.add(
            dlq_id(spec.logical),
            {
                "Type": "AWS::SQS::Queue",
                **_TRANSIENT,
                "Properties": {
                    "QueueName": ctx.settings.queue_name(spec.dlq_logical),
                    "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": True,
                    "Tags": _tags(ctx),
                },
            },
        )
        template.add(
            queue_id(spec.logical),
            {
                "Type": "AWS::SQS::Queue",
                **_TRANSIENT,
                "Properties": {
                    "QueueName": ctx.settings.queue_name(spec.logical),
                    "VisibilityTimeout": spec.visibility_timeout,
                    "MessageRetentionPeriod": spec.retention_seconds,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": get_att(dead, "Arn"),
                        "maxReceiveCount": spec.max_receive_count,
                    },
                    "SqsManagedSseEnabled": True,
                    "Tags": _tags(ctx),
                },
            },
        )


def failures_queue(ctx: BuildContext, function_name: str) -> Json:
    """Where a stream consumer's records go after their last retry (the stream's DLQ)."""
    return {
        "Type": "AWS::SQS::Queue",
        **_TRANSIENT,
        "Properties": {
            "QueueName": f"{function_name}-failures",
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
            "Tags": _tags(ctx),
        },
    }


def bucket_name(ctx: BuildContext, logical: str) -> Json:
    # Bucket names are global: the account id keeps two accounts' stages apart.
    return sub(f"{ctx.prefix}-{logical}-${{AWS::AccountId}}")


def add_buckets(template: Template, ctx: BuildContext) -> None:
    for spec in BUCKETS:
        bucket = template.add(
            bucket_id(spec.logical),
            {
                "Type": "AWS::S3::Bucket",
                **_retention(ctx),
                "Properties": {
                    "BucketName": bucket_name(ctx, spec.logical),
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Id": "tidy-uploads-and-old-versions",
                                "Status": "Enabled",
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            },
                            {
                                # Report photos are read in the first weeks, then rarely.
                                "Id": "older-photos-to-infrequent-access",
                                "Status": "Enabled",
                                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}],
                            },
                        ]
                    },
                    "CorsConfiguration": {
                        "CorsRules": [
                            {
                                "AllowedOrigins": list(spec.cors_origins),
                                "AllowedMethods": ["GET", "POST", "PUT"],
                                "AllowedHeaders": ["*"],
                                "MaxAge": 3000,
                            }
                        ]
                    },
                    "Tags": _tags(ctx),
                },
            },
        )
        template.add(
            f"{bucket}Policy",
            {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": ref(bucket),
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [get_att(bucket, "Arn"), sub(f"${{{bucket}.Arn}}/*")],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    },
                },
            },
        )


# --- state machines ------------------------------------------------------------------------------


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch.get("States", {}))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _tasks(processor.get("States", {}))


def _substituted_name(value: Any) -> str | None:
    match = _PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def state_machine_statements(spec: StateMachineSpec) -> list[Json]:
    """The IAM statements a state machine needs: exactly the service calls its tasks make.

    Only DynamoDB and SQS service integrations are understood; anything else is a build error
    (a Lambda task, say, would need the function's ARN and an invoke grant).
    """
    definition = json.loads(spec.template())
    grants: dict[str, set[str]] = {}
    for task in _tasks(definition["States"]):
        resource = str(task.get("Resource", ""))
        match = re.fullmatch(r"arn:aws:states:::(dynamodb|sqs):(\w+)(?:\.\w+)?", resource)
        if not match:
            raise BuildError(f"state machine {spec.logical}: infra/ cannot grant the task resource {resource}")
        service, call = match.groups()
        action = f"{service}:{call[0].upper()}{call[1:]}"
        parameters = task.get("Parameters", {})
        if service == "dynamodb":
            name = _substituted_name(parameters.get("TableName"))
            if name not in spec.tables:
                raise BuildError(f"state machine {spec.logical}: TableName must be one of {sorted(spec.tables)}")
            target = table_id(spec.tables[name])
        else:
            name = _substituted_name(parameters.get("QueueUrl"))
            if name not in spec.queue_urls:
                raise BuildError(f"state machine {spec.logical}: QueueUrl must be one of {sorted(spec.queue_urls)}")
            target = queue_id(spec.queue_urls[name])
        grants.setdefault(target, set()).add(action)
    return [
        {"Effect": "Allow", "Action": sorted(actions), "Resource": get_att(target, "Arn")}
        for target, actions in sorted(grants.items())
    ]


def add_state_machines(template: Template, ctx: BuildContext) -> None:
    for spec in STATE_MACHINES:
        machine = state_machine_id(spec.logical)
        role = template.add(
            f"{machine}Role",
            {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "states.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "service-integrations",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": state_machine_statements(spec)},
                        }
                    ],
                    "Tags": _tags(ctx),
                },
            },
        )
        substitutions: Json = {name: ref(table_id(logical)) for name, logical in spec.tables.items()}
        substitutions |= {name: ref(queue_id(logical)) for name, logical in spec.queue_urls.items()}
        template.add(
            machine,
            {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": spec.name(ctx.settings),
                    "StateMachineType": "STANDARD",  # waits run for days
                    "DefinitionString": json.dumps(json.loads(spec.template()), ensure_ascii=False),
                    "DefinitionSubstitutions": substitutions,
                    "RoleArn": get_att(role, "Arn"),
                    "Tags": _tags(ctx),
                },
            },
        )


def state_machine_arn(ctx: BuildContext, spec: StateMachineSpec) -> Json:
    return arn("states", f"stateMachine:{spec.name(ctx.settings)}")
