"""CloudFormation building blocks: intrinsic functions, logical ids, and a template that refuses
to overwrite a resource."""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

NO_VALUE: Json = {"Ref": "AWS::NoValue"}


class BuildError(ValueError):
    """The app and ``infra/`` disagree; the message says what to change."""


def ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def if_(condition: str, then: Any, otherwise: Any) -> Json:
    return {"Fn::If": [condition, then, otherwise]}


def arn(service: str, resource: str) -> Json:
    """An ARN in this stack's partition, region and account (``resource`` may use ``${...}``)."""
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def camel(name: str) -> str:
    """``join-codes`` → ``JoinCodes``, ``on_user_changed`` → ``OnUserChanged`` (as Chalice names)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def dashed(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


# Logical ids, in one place so tests and the transform agree.
def table_id(logical: str) -> str:
    return f"{camel(logical)}Table"


def queue_id(logical: str) -> str:
    return f"{camel(logical)}Queue"


def dlq_id(logical: str) -> str:
    return f"{camel(logical)}DeadLetterQueue"


def bucket_id(logical: str) -> str:
    return f"{camel(logical)}Bucket"


def state_machine_id(logical: str) -> str:
    return f"{camel(logical)}StateMachine"


def group_function_id(key: str) -> str:
    return f"Api{camel(key)}"


def role_id(function_id: str) -> str:
    return f"{function_id}Role"


def log_group_id(function_id: str) -> str:
    return f"{function_id}LogGroup"


def failures_queue_id(function_id: str) -> str:
    return f"{function_id}StreamFailures"


class Template:
    """A template under construction; adding a logical id twice is a bug, so it raises."""

    def __init__(self, description: str) -> None:
        self.body: Json = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": description,
            "Metadata": {},
            "Parameters": {},
            "Conditions": {},
            "Resources": {},
            "Outputs": {},
        }

    @property
    def resources(self) -> Json:
        resources: Json = self.body["Resources"]
        return resources

    def add(self, logical_id: str, resource: Json) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]+", logical_id):
            raise BuildError(f"{logical_id!r} is not a valid logical id")
        if logical_id in self.resources:
            raise BuildError(f"two resources want the logical id {logical_id}")
        self.resources[logical_id] = resource
        return logical_id

    def parameter(self, name: str, spec: Json) -> None:
        self.body["Parameters"][name] = spec

    def condition(self, name: str, spec: Json) -> None:
        self.body["Conditions"][name] = spec

    def output(self, name: str, value: Any, description: str) -> None:
        self.body["Outputs"][name] = {"Description": description, "Value": value}
