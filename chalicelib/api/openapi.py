"""The OpenAPI 3.1 document, generated from the routes' own request and response models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.http import JSON, OPERATIONS, Operation, path_params

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable code"},
                "message": {"type": "string", "description": "what went wrong, for people"},
                "details": {"description": "per-field problems, retry hints"},
            },
        }
    },
}
_ERROR_TEXT = {
    400: "bad request",
    401: "missing, expired or invalid token",
    403: "not allowed for this role or scope",
    404: "not found",
    409: "conflicts with the current state",
    410: "no longer usable",
    422: "invalid input (names the field)",
    429: "too many requests (see Retry-After)",
    503: "a provider is unavailable; retry later",
}


def _models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path_params(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": {k: v for k, v in prop.items() if k != "description"},
                    "description": prop.get("description", ""),
                }
            )
    if op.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 128},
                "description": "a retry with the same key returns the first answer and creates nothing",
            }
        )
    return params


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": {},
    }
    if op.description:
        doc["description"] = op.description
    if op.body is not None:
        content_type = op.content_types[0]
        doc["requestBody"] = {"required": True, "content": {content_type: {"schema": _ref(op.body)}}}
    if op.status == 204:
        doc["responses"]["204"] = {"description": "done"}
    elif op.response is not None:
        doc["responses"][str(op.status)] = {"description": "ok", "content": {JSON: {"schema": _ref(op.response)}}}
    else:
        media = op.raw_response or JSON
        doc["responses"][str(op.status)] = {"description": "ok", "content": {media: {"schema": {}}}}
    codes = set(op.errors)
    if not op.public:
        codes.add(401)
    if op.body is not None or op.query is not None:
        codes.add(422)
    for code in sorted(codes):
        doc["responses"][str(code)] = {
            "description": _ERROR_TEXT.get(code, "error"),
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if not op.public:
        doc["security"] = [{"bearer": []}]
    return doc


@lru_cache(maxsize=1)
def openapi_document(version: str) -> dict[str, Any]:
    """Every registered route, with the schemas that validate its input and shape its output."""
    _, defs = models_json_schema(
        [(model, "validation" if model in _request_models() else "serialization") for model in _models()],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Weilinli (微邻里) community grid-governance API",
            "version": version,
            "description": "Residents, grid workers and offices of a city's administrative tree. "
            'JSON in and out; errors are {"error": {code, message, details}}.',
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _request_models() -> set[type[BaseModel]]:
    return {op.body for op in OPERATIONS if op.body is not None}
