"""The packaged production template: lint-clean, and what the transform promises holds in it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.definitions import ESCALATION, PHOTOS, QUEUES, REPORT_EVENTS, STATE_MACHINES, tables
from chalicelib.api.security import UNAUTHORIZED_BODY
from chalicelib.settings import parse_settings
from infra.cfn import (
    bucket_id,
    camel,
    dlq_id,
    group_function_id,
    queue_id,
    role_id,
    state_machine_id,
    table_id,
)
from infra.groups import GROUPS, HANDLERS, ROUTE_THROTTLES, Access, group_for
from infra.monitoring import RED_CARDS_METRIC
from infra.stages import API_SHARE
from tests.infra.conftest import Built
from tests.infra.iam import TABLE_WRITES, as_list, grants, referenced, targets_of

BIN = Path(sys.executable).parent
TABLE_READS = frozenset({"dynamodb:getitem", "dynamodb:query", "dynamodb:batchgetitem", "dynamodb:scan"})


def _functions(built: Built) -> dict[str, dict[str, Any]]:
    return built.of_type("AWS::Lambda::Function")


def _declared_access(built: Built) -> dict[str, Access]:
    """Function logical id → what infra/groups.py declares for it."""
    declared = {group_function_id(g.key): g.access for g in GROUPS}
    for name, handler in HANDLERS.items():
        declared[camel(name)] = handler.access
    return {fid: declared[fid] for fid in _functions(built)}


def _role_of(built: Built, function_id: str) -> dict[str, Any]:
    role = _functions(built)[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    resource: dict[str, Any] = built.resources[role]
    return resource


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "cfn-lint"), "--", str(path)], capture_output=True, text=True, check=False)


# --- it is a valid template -------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_the_packaged_template_passes_cfn_lint(stage: str, build_stage: Any) -> None:
    built = build_stage(stage)
    linted = _cfn_lint(built.result.template)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_cfn_lint_would_catch_a_broken_template(prod: Built, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(prod.template))
    broken["Resources"]["ApiReports"]["Properties"]["Timeout"] = 9999
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert _cfn_lint(path).returncode & 2, "cfn-lint reports errors with bit 2 of its exit code"


def test_the_template_is_plain_cloudformation(prod: Built) -> None:
    assert "Transform" not in prod.template
    assert not [k for k, v in prod.resources.items() if v["Type"].startswith("AWS::Serverless::")]
    assert len(prod.result.template.read_bytes()) < 1_000_000, "CloudFormation's limit for a template in S3"


def test_no_stand_in_arn_or_account_survives(prod: Built) -> None:
    text = prod.result.template.read_text(encoding="utf-8")
    assert "123456789012" not in text and "000000000000" not in text
    assert "/stream/latest" not in text
    assert "APIHandler" not in text


# --- per-endpoint functions -------------------------------------------------------------------------


def test_every_route_lands_on_its_groups_function(prod: Built) -> None:
    from app import app

    body = prod.resources["RestAPI"]["Properties"]["Body"]
    served = set()
    for path, item in body["paths"].items():
        for method, operation in item.items():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            expected = group_function_id(group_for(path).key)
            assert f"${{{expected}.Arn}}" in uri, f"{method.upper()} {path} → {uri}"
            assert expected in _functions(prod)
            served.add((path, method.upper()))
    wanted = {(path, method) for path, entry in app.routes.items() for method in entry}
    assert served == wanted


def test_each_routed_group_has_its_own_function_sized_as_declared(prod: Built) -> None:
    from app import app

    routed = {group_for(path).key for path in app.routes}
    groups = [g for g in GROUPS if g.key in routed]
    functions = _functions(prod)
    roles = set()
    reserved_total = 0
    for group in groups:
        props = functions[group_function_id(group.key)]["Properties"]
        assert props["Handler"] == "app.app"
        assert props["MemorySize"] == group.memory_mb
        assert props["Timeout"] == group.timeout_s
        condition, reserved, otherwise = props["ReservedConcurrentExecutions"]["Fn::If"]
        assert condition == "ReserveConcurrency" and otherwise == {"Ref": "AWS::NoValue"}
        assert reserved == prod.ctx.reserved_concurrency(group, groups)
        reserved_total += reserved
        log_group = prod.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
        assert log_group["RetentionInDays"] == prod.ctx.log_retention(group.log_retention_days)
        assert log_group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        roles.add(props["Role"]["Fn::GetAtt"][0])
    assert len(roles) == len(groups), "every group has a role of its own"
    assert reserved_total <= prod.ctx.account_concurrency * API_SHARE
    assert prod.ctx.account_concurrency - reserved_total >= 100, "Lambda keeps 100 unreserved"


def test_every_function_runs_the_one_package(prod: Built) -> None:
    for props in (f["Properties"] for f in _functions(prod).values()):
        assert props["Code"] == {"S3Bucket": {"Ref": "ArtifactBucket"}, "S3Key": {"Ref": "ArtifactKey"}}
    key = prod.template["Parameters"]["ArtifactKey"]["Default"]
    assert key == prod.result.artifact_key == prod.template["Metadata"]["Weilinli"]["ArtifactKey"]


def test_consumers_stay_separate_functions(prod: Built) -> None:
    chalice_functions = {
        k: v["Properties"]["Handler"]
        for k, v in prod.sam["Resources"].items()
        if v["Type"] == "AWS::Serverless::Function"
    }
    handlers = {k: h for k, h in chalice_functions.items() if h != "app.app"}
    assert handlers, "the app has consumers"
    functions = _functions(prod)
    for logical_id, handler in handlers.items():
        assert functions[logical_id]["Properties"]["Handler"] == handler


def test_functions_get_the_environment_the_settings_need(prod: Built) -> None:
    config_env = prod.ctx.environment
    for props in (f["Properties"] for f in _functions(prod).values()):
        env = props["Environment"]["Variables"]
        for name, value in config_env.items():
            assert env[name] == value
        assert env["RESOURCE_PREFIX"] == prod.ctx.prefix
        assert env["AWS_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
        assert env["PHOTOS_BUCKET"] == {"Ref": bucket_id(PHOTOS.logical)}


def test_settings_in_a_function_name_the_templates_resources(prod: Built) -> None:
    env = _functions(prod)["ApiReports"]["Properties"]["Environment"]["Variables"]
    concrete = {k: v for k, v in env.items() if isinstance(v, str)}
    settings = parse_settings({**concrete, "AWS_REGION": "eu-west-1", "AWS_ACCOUNT_ID": "111122223333"})
    for table in tables():
        assert prod.resources[table_id(table.logical)]["Properties"]["TableName"] == settings.table_name(table.logical)
    for queue in QUEUES:
        assert prod.resources[queue_id(queue.logical)]["Properties"]["QueueName"] == settings.queue_name(queue.logical)
    for machine in STATE_MACHINES:
        name = prod.resources[state_machine_id(machine.logical)]["Properties"]["StateMachineName"]
        assert settings.state_machine_arn(machine.logical).endswith(f":stateMachine:{name}")


# --- event sources ------------------------------------------------------------------------------------


def test_every_sqs_source_reports_batch_item_failures(prod: Built) -> None:
    mappings = prod.of_type("AWS::Lambda::EventSourceMapping")
    sqs = [
        m
        for m in mappings.values()
        if prod.resources[m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    ]
    chalice_sqs = [
        e
        for f in prod.sam["Resources"].values()
        for e in f.get("Properties", {}).get("Events", {}).values()
        if e["Type"] == "SQS"
    ]
    assert sqs and len(sqs) == len(chalice_sqs)
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_queue_consumers_finish_within_the_visibility_timeout(prod: Built) -> None:
    functions = _functions(prod)
    for mapping in prod.of_type("AWS::Lambda::EventSourceMapping").values():
        source = prod.resources[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]
        if source["Type"] != "AWS::SQS::Queue":
            continue
        timeout = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]["Timeout"]
        assert timeout <= source["Properties"]["VisibilityTimeout"]
        assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_stream_sources_read_the_templates_own_tables(prod: Built) -> None:
    streams = [
        m["Properties"]
        for m in prod.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    ]
    assert streams
    for mapping in streams:
        table = prod.resources[mapping["EventSourceArn"]["Fn::GetAtt"][0]]
        assert table["Type"] == "AWS::DynamoDB::Table" and table["Properties"]["StreamSpecification"]
        failures = prod.resources[mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]]
        assert failures["Type"] == "AWS::SQS::Queue"
        assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] > 0


def test_schedules_invoke_their_function(prod: Built) -> None:
    rules = prod.of_type("AWS::Events::Rule")
    assert rules
    permissions = prod.of_type("AWS::Lambda::Permission")
    for rule_id, rule in rules.items():
        target = rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        assert any(
            p["Properties"]["FunctionName"] == {"Ref": target}
            and p["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
            for p in permissions.values()
        )


# --- data -------------------------------------------------------------------------------------------


def test_every_table_is_deployed_as_defined(prod: Built) -> None:
    deployed = prod.of_type("AWS::DynamoDB::Table")
    assert set(deployed) == {table_id(spec.logical) for spec in tables()}
    for spec in tables():
        resource = deployed[table_id(spec.logical)]
        props = resource["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["KeySchema"] == spec.key_schema
        assert props["AttributeDefinitions"] == spec.attribute_definitions
        assert props.get("GlobalSecondaryIndexes", []) == spec.global_secondary_indexes
        assert props.get("StreamSpecification", {}).get("StreamViewType") == spec.stream_view_type
        ttl = props.get("TimeToLiveSpecification")
        assert (ttl["AttributeName"] if ttl else None) == spec.ttl_attribute
        assert not ttl or ttl["Enabled"] is True
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert resource["DeletionPolicy"] == "Retain" and props["DeletionProtectionEnabled"] is True


def test_dev_tables_can_be_deleted_with_the_stack(dev: Built) -> None:
    for resource in dev.of_type("AWS::DynamoDB::Table").values():
        assert resource["DeletionPolicy"] == "Delete"
        assert resource["Properties"]["DeletionProtectionEnabled"] is False
    assert dev.template["Parameters"]["ReserveConcurrency"]["Default"] == "false"


def test_ephemeral_data_expires() -> None:
    by_name = {spec.logical: spec for spec in tables()}
    for logical in ("ephemeral", "idempotency", "access-log", "join-codes"):
        assert by_name[logical].ttl_attribute, logical


def test_every_queue_has_a_dead_letter_queue_with_the_specs_redrive(prod: Built) -> None:
    queues = prod.of_type("AWS::SQS::Queue")
    for spec in QUEUES:
        props = queues[queue_id(spec.logical)]["Properties"]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id(spec.logical), "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert props["VisibilityTimeout"] == spec.visibility_timeout
        assert props["MessageRetentionPeriod"] == spec.retention_seconds
    dead_letter = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    dead_letter |= {
        m["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for m in prod.of_type("AWS::Lambda::EventSourceMapping").values()
        if "DestinationConfig" in m["Properties"]
    }
    for queue_logical_id, queue in queues.items():
        assert "RedrivePolicy" in queue["Properties"] or queue_logical_id in dead_letter, queue_logical_id


def test_dead_letter_retention_matches_the_local_stack(prod: Built) -> None:
    from chalicelib.local.resources import DLQ_RETENTION_SECONDS

    for spec in QUEUES:
        assert prod.resources[dlq_id(spec.logical)]["Properties"]["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS


def test_the_photo_bucket_is_private_encrypted_and_tidied(prod: Built) -> None:
    props = prod.resources[bucket_id(PHOTOS.logical)]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert props["LifecycleConfiguration"]["Rules"]
    policy = prod.resources[f"{bucket_id(PHOTOS.logical)}Policy"]["Properties"]["PolicyDocument"]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_state_machine_substitutions_resolve_every_placeholder(prod: Built) -> None:
    for spec in STATE_MACHINES:
        props = prod.resources[state_machine_id(spec.logical)]["Properties"]
        placeholders = set(re.findall(r"\$\{(\w+)\}", props["DefinitionString"]))
        assert placeholders and placeholders == set(props["DefinitionSubstitutions"])
        for placeholder, value in props["DefinitionSubstitutions"].items():
            target = value["Ref"]
            if placeholder in spec.tables:
                assert target == table_id(spec.tables[placeholder])
            else:
                assert target == queue_id(spec.queue_urls[placeholder])
            assert target in prod.resources
        assert json.loads(props["DefinitionString"]) == json.loads(spec.template())


# --- least privilege ------------------------------------------------------------------------------------


def test_no_role_can_write_a_table_its_function_does_not_use(prod: Built) -> None:
    table_ids = set(prod.of_type("AWS::DynamoDB::Table"))
    for function_id, declared in _declared_access(prod).items():
        role = _role_of(prod, function_id)
        written = targets_of(role, TABLE_WRITES)
        assert "*" not in written, f"{function_id} may write any table"
        assert written <= table_ids, f"{function_id} writes {written - table_ids}"
        assert written == {table_id(t) for t in declared.writes}, function_id
        read = targets_of(role, TABLE_READS) & table_ids
        assert read == {table_id(t) for t in declared.tables}, function_id


def test_no_role_scans_or_uses_wildcards_for_data(prod: Built) -> None:
    for role_logical_id, role in prod.of_type("AWS::IAM::Role").items():
        for grant in grants(role):
            assert "dynamodb:scan" not in grant.actions, role_logical_id
            assert not any(a == "*" or a.endswith(":*") for a in grant.actions), role_logical_id
            if "*" in grant.targets:
                assert grant.actions == {"dynamodb:liststreams"}, (role_logical_id, grant.statement)


def test_roles_send_consume_and_read_secrets_as_declared(prod: Built) -> None:
    queue_ids = {queue_id(spec.logical) for spec in QUEUES}
    for function_id, declared in _declared_access(prod).items():
        role = _role_of(prod, function_id)
        sent = targets_of(role, frozenset({"sqs:sendmessage"})) & queue_ids
        assert sent == {queue_id(q) for q in declared.sends}, function_id
        parameters = {
            t.removeprefix("literal:").rsplit(":parameter", 1)[1]
            for t in targets_of(role, frozenset({"ssm:getparameter"}))
        }
        assert parameters == {prod.ctx.environment[var] for var in declared.secrets}, function_id
        started = targets_of(role, frozenset({"states:startexecution"}))
        assert started == {state_machine_id(m) for m in declared.starts}, function_id
        assert bool(targets_of(role, frozenset({"s3:putobject"}))) == declared.photos, function_id


def test_a_consumer_may_poll_only_its_own_queue(prod: Built) -> None:
    for mapping in prod.of_type("AWS::Lambda::EventSourceMapping").values():
        function_id = mapping["Properties"]["FunctionName"]["Ref"]
        source = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        polled = targets_of(_role_of(prod, function_id), frozenset({"sqs:receivemessage"}))
        if prod.resources[source]["Type"] == "AWS::SQS::Queue":
            assert polled == {source}
        else:
            assert polled == set()


def test_the_escalation_role_has_exactly_its_service_integrations(prod: Built) -> None:
    role = prod.resources[role_id(state_machine_id(ESCALATION.logical))]
    statements = {
        (frozenset(as_list(s["Action"])), frozenset(next(iter(referenced(r))) for r in as_list(s["Resource"])))
        for p in role["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    }
    assert statements == {
        (frozenset({"dynamodb:GetItem", "dynamodb:UpdateItem"}), frozenset({table_id("reports")})),
        (frozenset({"sqs:SendMessage"}), frozenset({queue_id(REPORT_EVENTS.logical)})),
    }
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "states.amazonaws.com"}


# --- the API edge ---------------------------------------------------------------------------------------


def test_gateway_refusals_answer_the_api_error_shape(prod: Built) -> None:
    responses = prod.resources["RestAPI"]["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED"):
        assert responses[kind]["statusCode"] == 401
        assert json.loads(responses[kind]["responseTemplates"]["application/json"]) == UNAUTHORIZED_BODY
    throttled = json.loads(responses["THROTTLED"]["responseTemplates"]["application/json"])
    assert responses["THROTTLED"]["statusCode"] == 429 and throttled["error"]["code"] == "rate_limited"


def test_the_api_is_throttled(prod: Built) -> None:
    settings = prod.resources["RestAPIStage"]["Properties"]["MethodSettings"]
    stage_wide = next(s for s in settings if s["ResourcePath"] == "/*")
    assert stage_wide["ThrottlingRateLimit"] == prod.ctx.profile.api_rate
    assert stage_wide["ThrottlingBurstLimit"] == prod.ctx.profile.api_burst
    sms = next(s for s in settings if s["ResourcePath"] == "/~1v1~1auth~1sms~1code")
    assert sms["HttpMethod"] == "POST" and sms["ThrottlingRateLimit"] < stage_wide["ThrottlingRateLimit"]
    assert len(settings) == 1 + len(ROUTE_THROTTLES), "only the routes that cost money are throttled apart"


def test_the_deployment_changes_with_the_api(prod: Built) -> None:
    deployments = prod.of_type("AWS::ApiGateway::Deployment")
    assert len(deployments) == 1
    stage = prod.resources["RestAPIStage"]["Properties"]
    assert stage["DeploymentId"] == {"Ref": next(iter(deployments))}
    assert stage["StageName"] == prod.ctx.api_stage


# --- alarms and dashboard -------------------------------------------------------------------------------


def _alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        return [(props["Namespace"], props["MetricName"], dims)]
    found = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append(
                (metric["Namespace"], metric["MetricName"], {d["Name"]: d["Value"] for d in metric["Dimensions"]})
            )
    return found


def _alarmed(built: Built) -> list[tuple[str, str, dict[str, Any]]]:
    alarms = built.of_type("AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    return [m for alarm in alarms.values() for m in _alarm_metrics(alarm)]


def test_every_dead_letter_queue_has_an_alarm(prod: Built) -> None:
    alarmed = _alarmed(prod)
    queues = prod.of_type("AWS::SQS::Queue")
    dead = [q for q in queues.values() if "RedrivePolicy" not in q["Properties"]]
    assert len(dead) >= len(QUEUES)
    for queue in dead:
        name = queue["Properties"]["QueueName"]
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": name}) in alarmed, name


def test_api_5xx_lambda_errors_and_throttles_are_alarmed(prod: Built) -> None:
    alarmed = _alarmed(prod)
    api = {"ApiName": prod.resources["RestAPI"]["Properties"]["Name"], "Stage": prod.ctx.api_stage}
    assert ("AWS/ApiGateway", "5XXError", api) in alarmed
    for props in (f["Properties"] for f in _functions(prod).values()):
        dims = {"FunctionName": props["FunctionName"]}
        assert ("AWS/Lambda", "Errors", dims) in alarmed
        assert ("AWS/Lambda", "Throttles", dims) in alarmed
    assert ("AWS/Lambda", "ConcurrentExecutions", {}) in alarmed


def test_failed_escalations_and_red_cards_are_alarmed(prod: Built) -> None:
    alarmed = _alarmed(prod)
    machine = {"StateMachineArn": {"Ref": state_machine_id(ESCALATION.logical)}}
    assert ("AWS/States", "ExecutionsFailed", machine) in alarmed
    assert ("AWS/States", "ExecutionsTimedOut", machine) in alarmed
    assert ("Weilinli", RED_CARDS_METRIC, {"service": "weilinli"}) in alarmed


def test_the_red_card_alarm_watches_the_metric_the_app_emits() -> None:
    consumers = Path(__file__).resolve().parents[2] / "chalicelib" / "consumers"
    sources = "".join(path.read_text(encoding="utf-8") for path in consumers.glob("*.py"))
    assert f'name="{RED_CARDS_METRIC}"' in sources


def test_the_dashboard_shows_functions_queues_and_app_metrics(prod: Built) -> None:
    body = prod.resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(body)
    text = json.dumps(dashboard)
    for props in (f["Properties"] for f in _functions(prod).values()):
        assert props["FunctionName"] in text
    for queue in prod.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["QueueName"] in text
    assert "SEARCH('{Weilinli,service}" in text and RED_CARDS_METRIC in text
    for widget in dashboard["widgets"]:
        assert widget["x"] + widget["width"] <= 24
    referenced_ids = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", body))
    assert referenced_ids <= set(prod.resources), referenced_ids - set(prod.resources)


# Lambda sets these itself and refuses a function that tries to.
LAMBDA_RESERVED = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
}


def test_no_function_sets_a_variable_lambda_reserves(prod: Built) -> None:
    for props in (f["Properties"] for f in _functions(prod).values()):
        assert not set(props["Environment"]["Variables"]) & LAMBDA_RESERVED, props["FunctionName"]
