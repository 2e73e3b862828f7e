"""The REST API: Chalice's OpenAPI body with every integration pointed at its group's function.

Chalice integrates every route with its one API handler. Here each route goes to the function of
the endpoint group its path lies under (``infra/groups.py``); the groups that have routes each get
a function from the same package and handler, sized and permitted for that group alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from chalicelib.api.security import UNAUTHORIZED_BODY
from infra.cfn import BuildError, Json, Template, arn, group_function_id, ref, sub
from infra.functions import FunctionPlan, Inventory, add_function
from infra.groups import GROUPS, ROUTE_THROTTLES, EndpointGroup, group_for
from infra.stages import BuildContext

API_ID = "RestAPI"  # Chalice's logical id; its authorizer's permission refers to it
STAGE_ID = "RestAPIStage"
_TARGET = re.compile(r"\$\{(\w+)\.Arn\}")

RATE_LIMITED_BODY = {"error": {"code": "rate_limited", "message": "too many requests; retry in a moment"}}


@dataclass
class Routes:
    """Which (path, method) each group serves, and the function Chalice had for all of them."""

    handler_id: str = ""
    by_group: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def routed(self) -> list[EndpointGroup]:
        return [group for group in GROUPS if group.key in self.by_group]


def route_body(body: Json) -> tuple[Json, Routes]:
    """A copy of the OpenAPI body with each integration pointed at its group's function."""
    body = copy.deepcopy(body)
    routes = Routes()
    for path, item in body.get("paths", {}).items():
        for method, operation in item.items():
            integration = operation.get("x-amazon-apigateway-integration", {}) if isinstance(operation, dict) else {}
            uri = integration.get("uri")
            if uri is None:
                continue  # a mock integration (CORS preflight) calls no function
            text = uri.get("Fn::Sub") if isinstance(uri, dict) else None
            target = _TARGET.search(text) if isinstance(text, str) else None
            if target is None or not isinstance(text, str):
                raise BuildError(f"{method.upper()} {path}: cannot find the function in the integration URI {uri!r}")
            if routes.handler_id and target.group(1) != routes.handler_id:
                raise BuildError(f"{method.upper()} {path} calls {target.group(1)}, not {routes.handler_id}")
            routes.handler_id = target.group(1)
            group = group_for(path)
            function = group_function_id(group.key)
            integration["uri"] = {"Fn::Sub": text.replace(target.group(0), f"${{{function}.Arn}}")}
            routes.by_group[group.key].append((path, method.upper()))
    if not routes.handler_id:
        raise BuildError("the API has no routes")
    return body, routes


def _json_response(status: int, body: Json, headers: dict[str, str] | None = None) -> Json:
    response: Json = {
        "statusCode": status,
        "responseTemplates": {"application/json": json.dumps(body, ensure_ascii=False)},
    }
    if headers:
        response["responseParameters"] = {f"gatewayresponse.header.{k}": f"'{v}'" for k, v in headers.items()}
    return response


def gateway_responses() -> Json:
    """API Gateway's own answers, in the API's error shape, as the local gateway gives them."""
    unauthorized = _json_response(401, UNAUTHORIZED_BODY, {"WWW-Authenticate": "Bearer"})
    return {
        "UNAUTHORIZED": unauthorized,
        # The authorizer allows every route for a good token, so a denial means the token was not
        # acceptable: the same answer, so clients have one thing to handle (sign in again).
        "ACCESS_DENIED": unauthorized,
        "THROTTLED": _json_response(429, RATE_LIMITED_BODY, {"Retry-After": "1"}),
    }


def resource_path(path: str) -> str:
    """A path as API Gateway's method settings spell it: ``/v1/auth`` → ``/~1v1~1auth``."""
    return "/" + path.replace("/", "~1")


def _method_settings(routes: Routes, ctx: BuildContext) -> list[Json]:
    profile = ctx.profile
    settings: list[Json] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": profile.api_rate,
            "ThrottlingBurstLimit": profile.api_burst,
        }
    ]
    served = {route for group_routes in routes.by_group.values() for route in group_routes}
    for (method, path), throttle in sorted(ROUTE_THROTTLES.items()):
        if (path, method) not in served:
            raise BuildError(f"infra/groups.py throttles {method} {path}, which the API does not serve")
        settings.append(
            {
                "ResourcePath": resource_path(path),
                "HttpMethod": method,
                "ThrottlingRateLimit": min(throttle.rate, profile.api_rate),
                "ThrottlingBurstLimit": min(throttle.burst, profile.api_burst),
            }
        )
    return settings


def add_api(template: Template, sam: Json, ctx: BuildContext, inventory: Inventory) -> Routes:
    """The REST API, its deployment and stage, and a function per endpoint group that has routes."""
    api = sam["Resources"][API_ID]
    properties: Json = api["Properties"]
    body, routes = route_body(properties["DefinitionBody"])
    handler: Json = sam["Resources"][routes.handler_id]["Properties"]
    routed = routes.routed()
    for group in routed:
        function = group_function_id(group.key)
        add_function(
            template,
            FunctionPlan(
                logical_id=function,
                name=ctx.function_name(f"api-{group.key}"),
                label=f"endpoint group {group.key} ({group.title})",
                base=handler,
                access=group.access,
                memory_mb=group.memory_mb,
                timeout_s=group.timeout_s,
                log_retention_days=group.log_retention_days,
                reserved=ctx.reserved_concurrency(group, routed),
            ),
            ctx,
            inventory,
        )
        template.add(
            f"{function}InvokePermission",
            {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": ref(function),
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": arn("execute-api", f"${{{API_ID}}}/*"),
                },
            },
        )

    body["info"] = {**body.get("info", {}), "title": ctx.api_name}
    body["x-amazon-apigateway-gateway-responses"] = gateway_responses()
    endpoint = properties.get("EndpointConfiguration", "EDGE")
    template.add(
        API_ID,
        {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": ctx.api_name,
                "Body": body,
                "EndpointConfiguration": {"Types": [endpoint] if isinstance(endpoint, str) else endpoint["Types"]},
                "Tags": [{"Key": "app", "Value": ctx.app_name}, {"Key": "stage", "Value": ctx.stage}],
            },
        },
    )
    # A deployment snapshots the API; a new body needs a new one, so its id carries the body's hash.
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    deployment = template.add(
        f"RestAPIDeployment{digest}",
        {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": ref(API_ID), "Description": f"{ctx.api_name} {digest}"},
        },
    )
    template.add(
        STAGE_ID,
        {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": ref(API_ID),
                "DeploymentId": ref(deployment),
                "StageName": ctx.api_stage,
                "MethodSettings": _method_settings(routes, ctx),
                "Tags": [{"Key": "app", "Value": ctx.app_name}, {"Key": "stage", "Value": ctx.stage}],
            },
        },
    )
    template.output(
        "EndpointURL",
        sub(f"https://${{{API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{ctx.api_stage}/"),
        "The API's base URL",
    )
    template.output("RestAPIId", ref(API_ID), "The REST API's id")
    return routes
