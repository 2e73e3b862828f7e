"""Make Chalice's local gateway refuse a bad token the way API Gateway does.

In AWS, an authorizer that raises ``Unauthorized`` makes API Gateway answer 401 with the
UNAUTHORIZED gateway response that ``infra/`` sets to the API's error shape. Chalice's local
gateway would let the exception escape (a 500), so the local stack and the tests install this
small wrapper. Dev-only: never imported by the Lambda code.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import UnauthorizedError
from chalice.local import LocalGatewayAuthorizer, NotAuthorizedError

from chalicelib.api.security import UNAUTHORIZED_BODY

_MARK = "_weilinli_patched"


def install() -> None:
    """Wrap ``LocalGatewayAuthorizer.authorize`` once per process."""
    original = LocalGatewayAuthorizer.authorize
    if getattr(original, _MARK, False):
        return

    def authorize(self: LocalGatewayAuthorizer, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return original(self, raw_path, lambda_event, lambda_context)
        except (UnauthorizedError, NotAuthorizedError) as exc:
            headers = {
                "x-amzn-RequestId": lambda_context.aws_request_id,
                "x-amzn-ErrorType": "UnauthorizedException",
                "Content-Type": "application/json",
            }
            raise NotAuthorizedError(headers, json.dumps(UNAUTHORIZED_BODY).encode()) from exc

    setattr(authorize, _MARK, True)
    LocalGatewayAuthorizer.authorize = authorize  # type: ignore[method-assign]
