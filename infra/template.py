"""The transform: Chalice's SAM template in, the production CloudFormation template out."""

from __future__ import annotations

from infra import api, data, functions, monitoring
from infra.cfn import BuildError, Json, Template
from infra.stages import BuildContext

# Chalice resources the transform replaces rather than carries over.
_REPLACED_TYPES = frozenset({"AWS::IAM::Role", "AWS::Serverless::Api"})


def build_template(sam: Json, ctx: BuildContext, artifact_key: str) -> Json:
    """The stage's template: data resources, a function per endpoint group and per handler,
    the API, alarms and the dashboard."""
    template = Template(f"{ctx.app_name} ({ctx.stage}): community grid governance on AWS serverless")
    template.body["Metadata"] = {
        "Weilinli": {"Stage": ctx.stage, "StackName": ctx.prefix, "ArtifactKey": artifact_key},
    }
    template.parameter(
        functions.ARTIFACT_BUCKET,
        {"Type": "String", "Description": "S3 bucket holding the deployment package (infra/deploy.sh uploads it)"},
    )
    template.parameter(
        functions.ARTIFACT_KEY,
        {"Type": "String", "Default": artifact_key, "Description": "S3 key of the deployment package"},
    )
    template.parameter(
        functions.RESERVE_CONDITION,
        {
            "Type": "String",
            "AllowedValues": ["true", "false"],
            "Default": "true" if ctx.profile.reserve_concurrency else "false",
            "Description": "Reserve concurrency per endpoint group (needs a quota well above the reservations)",
        },
    )
    template.condition(functions.RESERVE_CONDITION, {"Fn::Equals": [{"Ref": functions.RESERVE_CONDITION}, "true"]})

    data.add_tables(template, ctx)
    data.add_queues(template, ctx)
    data.add_buckets(template, ctx)
    data.add_state_machines(template, ctx)

    inventory = functions.Inventory()
    routes = api.add_api(template, sam, ctx, inventory)
    for logical_id, resource in sam["Resources"].items():
        kind = resource["Type"]
        if logical_id in (api.API_ID, routes.handler_id) or kind in _REPLACED_TYPES:
            continue
        if kind == functions.SERVERLESS_FUNCTION:
            functions.add_handler(template, logical_id, resource, ctx, inventory)
        elif kind == "AWS::Lambda::Permission":
            if resource["Properties"]["FunctionName"] in ({"Ref": routes.handler_id}, routes.handler_id):
                continue  # the groups' functions have their own
            template.add(logical_id, resource)
        else:
            raise BuildError(f"Chalice's {logical_id} is a {kind}, which infra/ does not handle yet")

    monitoring.add_monitoring(template, ctx, inventory)
    return template.body
