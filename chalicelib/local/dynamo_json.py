"""DynamoDB attribute values as plain JSON, the way Lambda events and the journal carry them.

boto3 turns binary values (``B``, ``BS``) into ``bytes``; Lambda events and our journal files carry
them base64-encoded, and boto3 wants ``bytes`` back when the item is written again.
"""

from __future__ import annotations

import base64
from typing import Any

Item = dict[str, Any]


def to_json_value(value: Any) -> Any:
    """One attribute value from boto3's shape to the JSON shape (binary → base64 text)."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BS":
        return {"BS": [_b64(part) for part in inner]}
    if kind == "M":
        return {"M": to_json_item(inner)}
    if kind == "L":
        return {"L": [to_json_value(part) for part in inner]}
    return value


def from_json_value(value: Any) -> Any:
    """One attribute value from the JSON shape back to what boto3 sends (base64 text → bytes)."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(part) for part in inner]}
    if kind == "M":
        return {"M": from_json_item(inner)}
    if kind == "L":
        return {"L": [from_json_value(part) for part in inner]}
    return value


def to_json_item(item: Item) -> Item:
    """A whole item (or key) in the JSON shape."""
    return {name: to_json_value(value) for name, value in item.items()}


def from_json_item(item: Item) -> Item:
    """A whole item (or key) in boto3's shape."""
    return {name: from_json_value(value) for name, value in item.items()}


def _b64(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    return base64.b64encode(raw).decode("ascii")
