"""The bearer-token authorizer and reading the caller from a request.

API Gateway runs ``jwt_authorizer`` before a guarded route and caches its answer per token; the
view then reads the principal from the authorizer's context without checking the token again.
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint, UnauthorizedError
from chalice.app import AuthRequest, Request

from chalicelib import bootstrap
from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Unauthenticated

security = Blueprint(__name__)

# What a refused token gets. API Gateway's UNAUTHORIZED gateway response (set in infra/) and the
# local gateway both answer this body, in the API's error shape.
UNAUTHORIZED_BODY = {
    "error": {"code": "unauthenticated", "message": "missing, expired or invalid token; sign in again"}
}

_BEARER = "bearer "


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    if header[: len(_BEARER)].lower() == _BEARER:
        return header[len(_BEARER) :].strip() or None
    return None


@security.authorizer(ttl_seconds=300)
def jwt_authorizer(auth_request: AuthRequest) -> AuthResponse:
    """Allow every route for a valid token and pass its claims on; anything else is a 401."""
    token = bearer_token(auth_request.token)
    if token is None:
        raise UnauthorizedError("Unauthorized")
    try:
        principal = bootstrap.tokens().verify(token)
    except Unauthenticated as exc:
        # API Gateway answers 401 only for this exact message.
        raise UnauthorizedError("Unauthorized") from exc
    return AuthResponse(
        routes=["*"],
        principal_id=principal.user_id,
        context={"role": principal.role.value, "scope": principal.scope, "department": principal.department or ""},
    )


def principal_from_request(request: Request) -> Principal:
    """The caller as the authorizer saw them."""
    context = (request.context or {}).get("authorizer") or {}
    user_id = context.get("principalId")
    role = context.get("role")
    if not user_id or not role:
        raise Unauthenticated("sign in first")
    return Principal(
        user_id=str(user_id),
        role=Role(role),
        scope=str(context.get("scope") or ""),
        department=str(context.get("department") or "") or None,
    )


def optional_principal(request: Request) -> Principal | None:
    """On a public route: the caller if a valid token came along, else None (a bad one is 401)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    return bootstrap.tokens().verify(token)
