"""Reading IAM statements of a template back: which actions a role has on which resources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SUB_REF = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")

TABLE_WRITES = frozenset(
    {
        "dynamodb:putitem",
        "dynamodb:updateitem",
        "dynamodb:deleteitem",
        "dynamodb:batchwriteitem",
        "dynamodb:transactwriteitems",
        "dynamodb:partiqlinsert",
        "dynamodb:partiqlupdate",
        "dynamodb:partiqldelete",
    }
)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def referenced(resource: Any) -> set[str]:
    """Logical ids a Resource entry points at ("*" for a wildcard, "literal:<text>" otherwise)."""
    if resource == "*":
        return {"*"}
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return {resource["Fn::GetAtt"][0]}
    if isinstance(resource, dict) and "Ref" in resource:
        return {resource["Ref"]}
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        ids = {m.group(1) for m in _SUB_REF.finditer(text)} - {"AWS"}
        return ids or {f"literal:{text}"}
    return {f"literal:{resource}"}


@dataclass(frozen=True)
class Grant:
    actions: frozenset[str]  # lower-cased
    targets: frozenset[str]  # logical ids, "*", or literal ARNs
    statement: dict[str, Any]

    def allows_any(self, actions: frozenset[str]) -> bool:
        return any(
            a in actions or a == "*" or (a.endswith(":*") and any(x.startswith(a[:-1]) for x in actions))
            for a in self.actions
        )


def grants(role: dict[str, Any]) -> list[Grant]:
    found = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", statement
            targets: set[str] = set()
            for resource in as_list(statement["Resource"]):
                targets |= referenced(resource)
            found.append(
                Grant(
                    actions=frozenset(str(a).lower() for a in as_list(statement["Action"])),
                    targets=frozenset(targets),
                    statement=statement,
                )
            )
    assert not role["Properties"].get("ManagedPolicyArns"), "roles carry only their own inline policy"
    return found


def targets_of(role: dict[str, Any], actions: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for grant in grants(role):
        if grant.allows_any(actions):
            out |= grant.targets
    return out
