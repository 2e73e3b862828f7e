"""The HTTP edge: one decorator per route that authenticates, validates, runs the view, maps
domain errors to HTTP in one place, makes creating POSTs idempotent, and records the route for
the OpenAPI document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.api.security import jwt_authorizer, optional_principal, principal_from_request
from chalicelib.domain.auth import Principal
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from chalicelib.observability import logger

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    RateLimited: 429,
    Unavailable: 503,
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return Response(body=body, status_code=status, headers={"Content-Type": JSON, **(headers or {})})


def domain_error_response(exc: DomainError) -> Response:
    """The one place where domain errors become HTTP answers."""
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


def _validation_details(exc: ValidationError, where: str) -> list[dict[str, str]]:
    details = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or where
        details.append({"field": loc, "message": error["msg"]})
    return details


def validation_response(exc: ValidationError, where: str) -> Response:
    details = _validation_details(exc, where)
    fields = ", ".join(d["field"] for d in details)
    return error_response(422, "invalid_input", f"invalid {where}: {fields}", details)


@dataclass
class Operation:
    """What the OpenAPI document says about one route."""

    path: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool
    idempotent: bool
    content_types: list[str]
    errors: list[int] = field(default_factory=list)
    description: str = ""
    raw_response: str | None = None


OPERATIONS: list[Operation] = []


@dataclass
class Call:
    """What a view gets: who calls, the parsed body and query, and the raw request."""

    request: Request
    principal: Principal | None
    body: Any
    query: Any

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("sign in first")
        return self.principal


def endpoint(
    bp: Blueprint,
    path: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    public: bool = False,
    idempotent: bool = False,
    content_types: list[str] | None = None,
    errors: list[int] | None = None,
    description: str = "",
    raw_response: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a route. The view is ``view(call, **path_params)`` and returns a model, a dict,
    a ``Response`` or ``None`` (204)."""
    op = Operation(
        path=path,
        method=method,
        summary=summary,
        tag=tag,
        body=body,
        query=query,
        response=response,
        status=status,
        public=public,
        idempotent=idempotent,
        content_types=content_types or [JSON],
        errors=errors or [],
        description=description,
        raw_response=raw_response,
    )
    OPERATIONS.append(op)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handler(**params: Any) -> Response:
            request = bp.current_request
            try:
                call = _call_for(op, request)
                if op.idempotent and call.principal is not None:
                    key = request.headers.get("idempotency-key")
                    if key:
                        from chalicelib.api.idempotency import run_once

                        return run_once(call.principal, request, key, lambda: _respond(op, view(call, **params)))
                return _respond(op, view(call, **params))
            except DomainError as exc:
                return domain_error_response(exc)
            except ValidationError as exc:
                return validation_response(exc, "request")
            except Exception:
                # Anything unforeseen is logged with the request id and answered in the API's shape.
                logger.exception("unhandled error", extra={"path": path, "method": method})
                return error_response(500, "internal", "something went wrong on our side; try again shortly")

        route_kwargs: dict[str, Any] = {"methods": [method], "content_types": op.content_types}
        if not public:
            route_kwargs["authorizer"] = jwt_authorizer
        bp.route(path, **route_kwargs)(handler)
        return handler

    return decorate


def _call_for(op: Operation, request: Request) -> Call:
    principal = optional_principal(request) if op.public else principal_from_request(request)
    parsed_body = None
    if op.body is not None:
        parsed_body = parse_body(op.body, request)
    parsed_query = None
    if op.query is not None:
        raw = dict(request.query_params or {})
        try:
            parsed_query = op.query.model_validate(raw)
        except ValidationError as exc:
            raise _as_invalid(exc, "query") from exc
    return Call(request=request, principal=principal, body=parsed_body, query=parsed_query)


def raw_body(request: Request) -> bytes:
    """The request body as bytes, however the gateway handed it over."""
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def parse_body(model: type[BaseModel], request: Request) -> BaseModel:
    raw = raw_body(request)
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise InvalidInput("body", "is not valid JSON", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _as_invalid(exc, "body") from exc


def _as_invalid(exc: ValidationError, where: str) -> InvalidInput:
    details = _validation_details(exc, where)
    first = details[0] if details else {"field": where, "message": "is invalid"}
    error = InvalidInput(first["field"], first["message"])
    error.details = details
    return error


def _respond(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return Response(body=result, status_code=op.status, headers={"Content-Type": JSON})


_PARAM = re.compile(r"{(\w+)}")


def path_params(path: str) -> list[str]:
    return _PARAM.findall(path)
