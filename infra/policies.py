"""Least-privilege IAM for the functions: each role gets what its ``Access`` declares, plus what
its own event sources and log group need, and nothing with a wildcard resource that can write."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.adapters.definitions import PHOTOS, STATE_MACHINES
from infra.cfn import BuildError, Json, arn, bucket_id, get_att, queue_id, ref, state_machine_id, sub, table_id
from infra.groups import Access
from infra.stages import BuildContext

TABLE_READ = ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query")
# Transactions need no actions of their own: IAM checks the item actions inside them.
TABLE_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
QUEUE_CONSUME = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
QUEUE_SEND = ("sqs:GetQueueUrl", "sqs:SendMessage")


@dataclass
class Triggers:
    """What a function's event sources need: queues it polls, streams it reads, where failed
    stream records go."""

    queues: set[str] = field(default_factory=set)  # logical queue names
    streams: set[str] = field(default_factory=set)  # logical table names
    failure_queues: set[str] = field(default_factory=set)  # logical ids


def parameter_arn(name: str) -> Json:
    return arn("ssm", f"parameter/{name.lstrip('/')}")


def _secret_statements(access: Access, ctx: BuildContext, who: str) -> list[Json]:
    if not access.secrets:
        return []
    missing = sorted(var for var in access.secrets if not ctx.environment.get(var))
    if missing:
        raise BuildError(
            f"{who} reads {', '.join(missing)}, which .chalice/config.json stage {ctx.stage} does not set "
            f'(e.g. "{missing[0]}": "/{ctx.app_name}/{ctx.stage}/<name>")'
        )
    parameters = [parameter_arn(ctx.environment[var]) for var in sorted(access.secrets)]
    return [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameters},
        {
            # SecureString values: decrypt only through SSM, and only these parameters.
            "Sid": "DecryptSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": arn("kms", "key/*"),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": sub("ssm.${AWS::Region}.${AWS::URLSuffix}"),
                    "kms:EncryptionContext:PARAMETER_ARN": parameters,
                }
            },
        },
    ]


def _table_resources(logicals: frozenset[str] | set[str], with_indexes: bool) -> list[Json]:
    resources: list[Json] = []
    for logical in sorted(logicals):
        table = table_id(logical)
        resources.append(get_att(table, "Arn"))
        if with_indexes:
            resources.append(sub(f"${{{table}.Arn}}/index/*"))
    return resources


def function_statements(access: Access, triggers: Triggers, log_group: str, ctx: BuildContext, who: str) -> list[Json]:
    """Every statement of one function's role."""
    statements: list[Json] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(log_group, "Arn"),
        }
    ]
    if access.tables:
        statements.append(
            {
                "Sid": "ReadTables",
                "Effect": "Allow",
                "Action": list(TABLE_READ),
                "Resource": _table_resources(access.tables, with_indexes=True),
            }
        )
    if access.writes:
        statements.append(
            {
                "Sid": "WriteTables",
                "Effect": "Allow",
                "Action": list(TABLE_WRITE),
                "Resource": _table_resources(access.writes, with_indexes=False),
            }
        )
    if triggers.streams:
        statements.append(
            {
                "Sid": "ReadStreams",
                "Effect": "Allow",
                "Action": list(STREAM_READ),
                "Resource": [sub(f"${{{table_id(t)}.Arn}}/stream/*") for t in sorted(triggers.streams)],
            }
        )
        # ListStreams has no resource-level permissions; it lists stream ARNs and reads nothing.
        statements.append({"Sid": "ListStreams", "Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"})
    if triggers.queues:
        statements.append(
            {
                "Sid": "ConsumeQueues",
                "Effect": "Allow",
                "Action": list(QUEUE_CONSUME),
                "Resource": [get_att(queue_id(q), "Arn") for q in sorted(triggers.queues)],
            }
        )
    targets = [get_att(queue_id(q), "Arn") for q in sorted(access.sends)]
    targets += [get_att(q, "Arn") for q in sorted(triggers.failure_queues)]
    if targets:
        statements.append({"Sid": "SendToQueues", "Effect": "Allow", "Action": list(QUEUE_SEND), "Resource": targets})
    if access.starts:
        known = {spec.logical: spec for spec in STATE_MACHINES}
        unknown = sorted(access.starts - set(known))
        if unknown:
            raise BuildError(f"{who} starts {', '.join(unknown)}, which definitions.STATE_MACHINES does not define")
        specs = [known[name] for name in sorted(access.starts)]
        statements.append(
            {
                "Sid": "StartWorkflows",
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": [ref(state_machine_id(spec.logical)) for spec in specs],
            }
        )
        statements.append(
            {
                "Sid": "ReadWorkflowExecutions",
                "Effect": "Allow",
                "Action": "states:DescribeExecution",
                "Resource": [arn("states", f"execution:{spec.name(ctx.settings)}:*") for spec in specs],
            }
        )
    if access.photos:
        photos = bucket_id(PHOTOS.logical)
        statements.append(
            {
                # Presigned upload forms and download links carry this role's permission.
                "Sid": "SignPhotoUrls",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": sub(f"${{{photos}.Arn}}/*"),
            }
        )
    statements += _secret_statements(access, ctx, who)
    return statements


def lambda_role(statements: list[Json], ctx: BuildContext) -> Json:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {"PolicyName": "least-privilege", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
            ],
            "Tags": [{"Key": "app", "Value": ctx.app_name}, {"Key": "stage", "Value": ctx.stage}],
        },
    }
