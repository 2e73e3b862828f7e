"""JWT bearer tokens (HS256): subject, role, scope, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Unauthenticated

_ALGORITHM = "HS256"
_ISSUER = "weilinli"


class JwtTokens:
    """Issues and checks the API's bearer tokens with one shared signing key."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def issue(self, principal: Principal, now: datetime) -> tuple[str, datetime]:
        expires = now + timedelta(seconds=self._ttl)
        claims = {
            "iss": _ISSUER,
            "sub": principal.user_id,
            "role": principal.role.value,
            "scope": principal.scope,
            **({"dept": principal.department} if principal.department else {}),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired; sign in again", code="token_expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("the token is not valid", code="token_invalid") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise Unauthenticated("the token names no known role", code="token_invalid") from exc
        return Principal(
            user_id=str(claims["sub"]),
            role=role,
            scope=str(claims.get("scope") or ""),
            department=str(claims["dept"]) if claims.get("dept") else None,
        )
