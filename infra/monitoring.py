"""Alarms (to an SNS topic, optionally mailed) and the operations dashboard.

Alarms: every dead-letter queue not empty, queue backlog too old, the API's 5xx rate, each
function's errors and throttles, account concurrency near the quota, failed escalation executions,
and red cards (reports overdue at the top of the ladder; a Powertools metric the app emits).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.definitions import QUEUES, STATE_MACHINES, tables
from infra.cfn import Json, Template, dlq_id, queue_id, ref, state_machine_id, sub
from infra.functions import Inventory
from infra.stages import BuildContext

ALARM_TOPIC = "AlarmTopic"
ALARM_EMAIL = "AlarmEmail"
HAS_ALARM_EMAIL = "HasAlarmEmail"
CONCURRENCY_THRESHOLD = "ConcurrencyAlarmThreshold"
RED_CARDS_METRIC = "RedCards"
QUEUE_BACKLOG_SECONDS = 15 * 60
FUNCTION_ERRORS_PER_5_MIN = 5


class Alarms:
    def __init__(self, template: Template, ctx: BuildContext) -> None:
        self.template = template
        self.ctx = ctx
        self.names: list[str] = []

    def add(self, logical_id: str, suffix: str, description: str, **properties: Any) -> None:
        name = f"{self.ctx.prefix}-{suffix}"
        self.template.add(
            logical_id,
            {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": name,
                    "AlarmDescription": description,
                    "AlarmActions": [ref(ALARM_TOPIC)],
                    "OKActions": [ref(ALARM_TOPIC)],
                    "TreatMissingData": "notBreaching",
                    **properties,
                },
            },
        )
        self.names.append(name)


def _metric(namespace: str, name: str, dimensions: dict[str, Any], stat: str, period: int) -> Json:
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        },
        "Stat": stat,
        "Period": period,
    }


def _queue_alarms(alarms: Alarms, inventory: Inventory) -> None:
    resources = alarms.template.resources
    dead = [dlq_id(spec.logical) for spec in QUEUES] + inventory.failure_queues
    for queue in dead:
        name = resources[queue]["Properties"]["QueueName"]
        alarms.add(
            f"{queue}NotEmptyAlarm",
            f"{name.removeprefix(alarms.ctx.prefix + '-')}-not-empty",
            f"Messages in {name}: something failed for good. Read them, fix the cause, redrive.",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    for spec in QUEUES:
        name = alarms.ctx.settings.queue_name(spec.logical)
        alarms.add(
            f"{queue_id(spec.logical)}BacklogAlarm",
            f"{spec.logical}-backlog",
            f"The oldest message in {name} has waited over {QUEUE_BACKLOG_SECONDS // 60} minutes: "
            "its consumer is failing or cannot keep up.",
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=2,
            Threshold=QUEUE_BACKLOG_SECONDS,
            ComparisonOperator="GreaterThanThreshold",
        )


def _api_alarm(alarms: Alarms) -> None:
    ctx = alarms.ctx
    dims = {"ApiName": ctx.api_name, "Stage": ctx.api_stage}
    alarms.add(
        "Api5xxRateAlarm",
        "api-5xx-rate",
        f"Over {ctx.profile.api_5xx_rate_alarm:.0%} of API requests answered 5xx for 10 minutes "
        "(at 20 requests per 5 minutes or more).",
        Metrics=[
            {
                "Id": "errors",
                "MetricStat": _metric("AWS/ApiGateway", "5XXError", dims, "Sum", 300),
                "ReturnData": False,
            },
            {"Id": "requests", "MetricStat": _metric("AWS/ApiGateway", "Count", dims, "Sum", 300), "ReturnData": False},
            {
                "Id": "rate",
                "Expression": "IF(requests >= 20, errors / requests, 0)",
                "Label": "5xx rate",
                "ReturnData": True,
            },
        ],
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=ctx.profile.api_5xx_rate_alarm,
        ComparisonOperator="GreaterThanThreshold",
    )


def _function_alarms(alarms: Alarms, inventory: Inventory) -> None:
    for logical_id, name in inventory.functions:
        short = name.removeprefix(alarms.ctx.prefix + "-")
        alarms.add(
            f"{logical_id}ErrorsAlarm",
            f"{short}-errors",
            f"{name} failed {FUNCTION_ERRORS_PER_5_MIN} or more invocations in 5 minutes.",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=FUNCTION_ERRORS_PER_5_MIN,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        alarms.add(
            f"{logical_id}ThrottlesAlarm",
            f"{short}-throttles",
            f"{name} was throttled in 2 of the last 3 minutes: it hit its reserved concurrency or the "
            "account's quota (see the surge runbook in the README).",
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    alarms.add(
        "AccountConcurrencyAlarm",
        "account-concurrency",
        "Lambda concurrency across the account is near the quota: raise it (the surge runbook in the README).",
        Namespace="AWS/Lambda",
        MetricName="ConcurrentExecutions",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=ref(CONCURRENCY_THRESHOLD),
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def _workflow_alarms(alarms: Alarms) -> None:
    for spec in STATE_MACHINES:
        machine = state_machine_id(spec.logical)
        dims = {"StateMachineArn": ref(machine)}
        alarms.add(
            f"{machine}FailedAlarm",
            f"{spec.logical}-failed-executions",
            f"{spec.name(alarms.ctx.settings)} executions failed, timed out or were aborted: those reports "
            "stopped escalating. The reconciliation re-arms them; find the cause in the execution history.",
            Metrics=[
                {
                    "Id": "failed",
                    "MetricStat": _metric("AWS/States", "ExecutionsFailed", dims, "Sum", 300),
                    "ReturnData": False,
                },
                {
                    "Id": "timedout",
                    "MetricStat": _metric("AWS/States", "ExecutionsTimedOut", dims, "Sum", 300),
                    "ReturnData": False,
                },
                {
                    "Id": "aborted",
                    "MetricStat": _metric("AWS/States", "ExecutionsAborted", dims, "Sum", 300),
                    "ReturnData": False,
                },
                {
                    "Id": "broken",
                    "Expression": "FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)",
                    "Label": "failed executions",
                    "ReturnData": True,
                },
            ],
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )


def metrics_identity(ctx: BuildContext) -> tuple[str, dict[str, str]]:
    """The namespace and dimensions Powertools gives the app's metrics."""
    namespace = ctx.environment.get("METRICS_NAMESPACE", "Weilinli")
    return namespace, {"service": ctx.environment.get("POWERTOOLS_SERVICE_NAME", ctx.app_name)}


def _red_card_alarm(alarms: Alarms) -> None:
    namespace, dims = metrics_identity(alarms.ctx)
    alarms.add(
        "RedCardsAlarm",
        "red-cards",
        "A report passed the district's deadline and got a red card: city operations must act.",
        Namespace=namespace,
        MetricName=RED_CARDS_METRIC,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


# --- the dashboard ----------------------------------------------------------------------------------


def _graph(title: str, metrics: list[list[Any]], stat: str, period: int = 60, **extra: Any) -> Json:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stacked": False,
            "stat": stat,
            "period": period,
            "metrics": metrics,
            **extra,
        },
    }


def _lay_out(widgets: list[Json]) -> list[Json]:
    placed, x, y = [], 0, 0
    for widget in widgets:
        width = 24 if widget["type"] in ("text", "alarm") else 12
        height = 3 if widget["type"] == "text" else 6
        if x + width > 24:
            x, y = 0, y + 6
        placed.append({**widget, "x": x, "y": y, "width": width, "height": height})
        x += width
        if x >= 24:
            x, y = 0, y + height
    return placed


def dashboard_widgets(
    ctx: BuildContext, inventory: Inventory, alarm_names: list[str], template: Template
) -> list[Json]:
    api = ["ApiName", ctx.api_name, "Stage", ctx.api_stage]
    names = [name for _, name in inventory.functions]
    queue_names = [template.resources[q]["Properties"]["QueueName"] for q in _all_queues(inventory)]
    table_names = [ctx.settings.table_name(spec.logical) for spec in tables()]
    namespace, dims = metrics_identity(ctx)
    dimension_keys = ",".join(dims)
    dimension_filter = " ".join(f'{k}="{v}"' for k, v in dims.items())
    widgets: list[Json] = [
        {
            "type": "text",
            "properties": {
                "markdown": f"# {ctx.prefix}\nIn a surge watch, in order: account concurrency against the quota, "
                "throttles by function, DynamoDB throttle events, queue age and the dead-letter queues. "
                "The surge runbook is in the README, under 'Deploying to AWS'."
            },
        },
        {
            "type": "alarm",
            "properties": {
                "title": "Alarms",
                "alarms": [
                    f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{n}"
                    for n in alarm_names[:100]
                ],
            },
        },
        _graph(
            "API requests and errors",
            [["AWS/ApiGateway", m, *api] for m in ("Count", "4XXError", "5XXError")],
            "Sum",
        ),
        _graph(
            "API latency (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                ["AWS/ApiGateway", "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            "p99",
        ),
        _graph(
            "Account concurrency (quota line: what reservations were sized for)",
            [
                ["AWS/Lambda", "ConcurrentExecutions"],
                ["AWS/Lambda", "UnreservedConcurrentExecutions"],
                ["AWS/Lambda", "ClaimedAccountConcurrency"],
            ],
            "Maximum",
            annotations={"horizontal": [{"label": "quota", "value": ctx.account_concurrency}]},
        ),
        _graph(
            "Concurrency by function",
            [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", n] for n in names],
            "Maximum",
        ),
        _graph("Throttles by function", [["AWS/Lambda", "Throttles", "FunctionName", n] for n in names], "Sum"),
        _graph("Errors by function", [["AWS/Lambda", "Errors", "FunctionName", n] for n in names], "Sum"),
        _graph("Duration p99 by function (ms)", [["AWS/Lambda", "Duration", "FunctionName", n] for n in names], "p99"),
        _graph(
            "DynamoDB write capacity consumed (on-demand throttles above twice the previous peak)",
            [["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", t] for t in table_names],
            "Sum",
        ),
        _graph(
            "DynamoDB throttle events",
            [
                ["AWS/DynamoDB", m, "TableName", t]
                for t in table_names
                for m in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
            "Sum",
        ),
        _graph(
            "Queue depth (dead-letter queues must stay at 0)",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queue_names],
            "Maximum",
            300,
        ),
        _graph(
            "Age of oldest message (s)",
            [
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", ctx.settings.queue_name(s.logical)]
                for s in QUEUES
            ],
            "Maximum",
            300,
        ),
        _graph(
            "Escalation workflow",
            [
                ["AWS/States", m, "StateMachineArn", f"${{{state_machine_id(spec.logical)}}}"]
                for spec in STATE_MACHINES
                for m in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
            ],
            "Sum",
            300,
        ),
        _graph(
            "Red cards (reports overdue at the top)",
            [[namespace, RED_CARDS_METRIC, *[x for kv in dims.items() for x in kv]]],
            "Sum",
            300,
        ),
        _graph(
            "App metrics (Powertools)",
            [
                [
                    {
                        "expression": f"SEARCH('{{{namespace},{dimension_keys}}} {dimension_filter}', 'Sum', 300)",
                        "id": "app",
                    }
                ]
            ],
            "Sum",
            300,
        ),
    ]
    return _lay_out(widgets)


def _all_queues(inventory: Inventory) -> list[str]:
    ids = []
    for spec in QUEUES:
        ids += [queue_id(spec.logical), dlq_id(spec.logical)]
    return ids + inventory.failure_queues


def add_monitoring(template: Template, ctx: BuildContext, inventory: Inventory) -> None:
    template.parameter(
        ALARM_EMAIL,
        {"Type": "String", "Default": "", "Description": "Where alarms are mailed (empty: subscribe yourself)"},
    )
    template.parameter(
        CONCURRENCY_THRESHOLD,
        {
            "Type": "Number",
            "Default": int(ctx.account_concurrency * 0.8),
            "Description": "Account-wide Lambda concurrency that raises an alarm (80% of the quota)",
        },
    )
    template.condition(HAS_ALARM_EMAIL, {"Fn::Not": [{"Fn::Equals": [ref(ALARM_EMAIL), ""]}]})
    template.add(ALARM_TOPIC, {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{ctx.prefix}-alarms"}})
    template.add(
        "AlarmEmailSubscription",
        {
            "Type": "AWS::SNS::Subscription",
            "Condition": HAS_ALARM_EMAIL,
            "Properties": {"TopicArn": ref(ALARM_TOPIC), "Protocol": "email", "Endpoint": ref(ALARM_EMAIL)},
        },
    )
    alarms = Alarms(template, ctx)
    _queue_alarms(alarms, inventory)
    _api_alarm(alarms)
    _function_alarms(alarms, inventory)
    _workflow_alarms(alarms)
    _red_card_alarm(alarms)
    body = {"widgets": dashboard_widgets(ctx, inventory, alarms.names, template)}
    template.add(
        "Dashboard",
        {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": ctx.prefix, "DashboardBody": sub(json.dumps(body, ensure_ascii=False))},
        },
    )
    template.output("AlarmTopicArn", ref(ALARM_TOPIC), "Subscribe on-call to this topic")
    template.output(
        "DashboardURL",
        sub(
            "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home"
            f"?region=${{AWS::Region}}#dashboards:name={ctx.prefix}"
        ),
        "The operations dashboard",
    )
