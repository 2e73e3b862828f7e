"""Shared PynamoDB plumbing: cursors, transactions, and mapping write errors to domain errors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.units import Page
from chalicelib.settings import get_settings

T = TypeVar("T")
R = TypeVar("R", bound=Model)

CONDITION_FAILED = "ConditionalCheckFailedException"


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The key a page starts after; a cursor that is not one of ours is a 400, not a 500."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor", "is not a cursor this API handed out") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InvalidInput("cursor", "is not a cursor this API handed out")
    return value


def page_of(results: ResultIterator[R], convert: Callable[[R], T]) -> Page[T]:
    items = [convert(record) for record in results]
    return Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key))


def is_condition_failure(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == CONDITION_FAILED


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """Per item of a cancelled transaction, why it failed (None where it did not)."""
    reasons = exc.cancellation_reasons or []
    # DynamoDB reports the items that did not fail with the code "None".
    return [reason.code if reason is not None and reason.code != "None" else None for reason in reasons]


@lru_cache(maxsize=1)
def connection() -> Connection:
    """One PynamoDB connection (and so one botocore client) per warm process for transactions."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.aws_endpoint_url)


@contextmanager
def transaction(client_request_token: str | None = None) -> Iterator[TransactWrite]:
    """One DynamoDB transaction; a token makes a retried call within ten minutes harmless."""
    with TransactWrite(connection=connection(), client_request_token=client_request_token) as tw:
        yield tw


def lost_update(what: str) -> Conflict:
    return Conflict(
        f"{what} was changed by someone else at the same moment; read it again and retry", code="concurrent_update"
    )


def get_or_none(record: type[R], hash_key: str, range_key: str | None = None, *, consistent: bool = False) -> R | None:
    try:
        return record.get(hash_key, range_key, consistent_read=consistent)
    except record.DoesNotExist:
        return None
