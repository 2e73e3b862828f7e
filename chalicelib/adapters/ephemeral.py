"""One-time codes and rate-limit counters in the ``ephemeral`` table (TTL removes them)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamo import get_or_none, is_condition_failure
from chalicelib.adapters.records import EphemeralRecord
from chalicelib.domain.errors import Gone
from chalicelib.services.ports import Clock


class DynamoOneTimeCodes:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def store(self, key: str, code_hash: str, ttl_seconds: int) -> None:
        expires = self._clock.now() + timedelta(seconds=ttl_seconds)
        EphemeralRecord(pk=f"otp#{key}", code_hash=code_hash, tries=0, expires=expires).save()

    def take_attempt(self, key: str, max_tries: int) -> str | None:
        record = EphemeralRecord(pk=f"otp#{key}")
        now = self._clock.now()
        try:
            record.update(
                actions=[EphemeralRecord.tries.add(1)],
                condition=EphemeralRecord.pk.exists()
                & (EphemeralRecord.tries < max_tries)
                & (EphemeralRecord.expires > now),
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            stored = get_or_none(EphemeralRecord, f"otp#{key}", consistent=True)
            if stored is not None and stored.expires > now and (stored.tries or 0) >= max_tries:
                raise Gone("too many wrong codes; ask for a new one", code="code_attempts_exhausted") from exc
            return None
        return record.code_hash

    def discard(self, key: str) -> None:
        EphemeralRecord(pk=f"otp#{key}").delete()


class DynamoRateLimiter:
    """Fixed-window counters: one conditional ``ADD`` per hit, no read."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        now = self._clock.now().timestamp()
        window = math.floor(now / window_seconds)
        window_end = datetime.fromtimestamp((window + 1) * window_seconds, tz=UTC)
        record = EphemeralRecord(pk=f"rl#{key}#{window_seconds}#{window}")
        try:
            record.update(
                actions=[EphemeralRecord.hits.add(1), EphemeralRecord.expires.set(window_end + timedelta(minutes=5))],
                condition=EphemeralRecord.hits.does_not_exist() | (EphemeralRecord.hits < limit),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True
