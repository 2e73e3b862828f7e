"""``Idempotency-Key`` for every creating POST, on Powertools' idempotency utility.

The first successful answer is stored for a day under (caller, method, path, key); a retry gets
that answer back and creates nothing. A failed attempt (any 4xx/5xx) is not stored, so the
client may fix the request and retry with the same key. The same key with another body is a 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from chalice.app import Request, Response

from chalicelib.api.http import raw_body
from chalicelib.domain.auth import Principal
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.settings import get_settings

_KEY_MAX = 128
_ONE_DAY = 24 * 3600


class _NotStored(Exception):
    """Carries an error answer out of the idempotent function so it is not remembered."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _mark_replayed(response: Any, _record: DataRecord) -> Any:
    response["headers"] = {**response.get("headers", {}), "Idempotent-Replayed": "true"}
    return response


_CONFIG = IdempotencyConfig(
    event_key_jmespath="key",
    payload_validation_jmespath="body",
    expires_after_seconds=_ONE_DAY,
    raise_on_no_idempotency_key=True,
    response_hook=_mark_replayed,  # type: ignore[arg-type]
)


@lru_cache(maxsize=1)
def _persistence() -> DynamoDBPersistenceLayer:
    from chalicelib.adapters.aws import client

    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name("idempotency"), boto3_client=client("dynamodb")
    )


def reset() -> None:
    _persistence.cache_clear()


def run_once(principal: Principal, request: Request, key: str, produce: Callable[[], Response]) -> Response:
    """Answer ``produce()`` once per key; repeat the stored answer for a retry."""
    if not 1 <= len(key) <= _KEY_MAX or not key.isprintable():
        raise InvalidInput("Idempotency-Key", f"must be 1 to {_KEY_MAX} printable characters")
    data = {
        "key": f"{principal.user_id}|{request.method}|{request.path}|{key}",
        "body": hashlib.sha256(raw_body(request)).hexdigest(),
    }

    def answer(data: dict[str, str]) -> dict[str, Any]:
        response = produce()
        if response.status_code >= 400:
            raise _NotStored(response)
        return {"status": response.status_code, "body": response.body, "headers": dict(response.headers)}

    if request.lambda_context is not None:
        _CONFIG.register_lambda_context(request.lambda_context)
    try:
        stored = idempotent_function(data_keyword_argument="data", persistence_store=_persistence(), config=_CONFIG)(
            answer
        )(data=data)
    except _NotStored as exc:
        return exc.response
    except IdempotencyValidationError as exc:
        raise InvalidInput(
            "Idempotency-Key", "was used before with a different request body", code="idempotency_key_reused"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(
            "the first request with this Idempotency-Key is still running; retry shortly", code="request_in_progress"
        ) from exc
    return Response(body=stored["body"], status_code=int(stored["status"]), headers=stored.get("headers", {}))
