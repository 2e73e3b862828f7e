"""Read-only peeks into, and housekeeping of, the moto that runs inside this process.

Only for things the AWS API cannot tell us cheaply. Both helpers degrade to "no information"
when moto is not in this process or its internals change, and the stack then simply polls.

- Change markers: a stream poll costs two HTTP requests; with eight tables polled several times a
  second that is a noticeable share of a laptop core spent finding nothing. Peeking at the length
  of the table's stream lets the reader poll only when something was written.
- Iterator housekeeping: moto keeps every shard iterator it ever handed out (AWS expires them
  after 15 minutes), so a long-running poller grows moto's memory without bound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodbstreams.models import dynamodbstreams_backends

logger = logging.getLogger(__name__)


def stream_change_marker(table_name: str) -> Hashable | None:
    """Something that changes whenever ``table_name``'s stream gets a record; None if unknown."""
    try:
        for account in list(dict.values(dynamodb_backends)):
            for backend in list(dict.values(account)):
                table = backend.tables.get(table_name)
                shard = getattr(table, "stream_shard", None)
                if shard is not None:
                    # A failed transaction swaps in a copy of the table (and its shard), hence id().
                    return (id(shard), len(shard.items))
    except (AttributeError, RuntimeError, TypeError):
        return None
    return None


class ShardIteratorJanitor:
    """Drops shard iterators that moto has kept for longer than ``max_age`` seconds (roughly)."""

    def __init__(self, max_age: float = 60.0) -> None:
        self._period = max_age / 2
        self._next_sweep = time.monotonic() + self._period
        self._seen: set[str] = set()

    def sweep_if_due(self) -> int:
        """Forget iterators already present at the previous sweep; returns how many were dropped."""
        now = time.monotonic()
        if now < self._next_sweep:
            return 0
        self._next_sweep = now + self._period
        dropped = 0
        current: set[str] = set()
        for iterators in _iterator_maps():
            for key in list(iterators):
                if key in self._seen:
                    iterators.pop(key, None)
                    dropped += 1
                else:
                    current.add(key)
        self._seen = current
        return dropped


def _iterator_maps() -> list[dict[str, Any]]:
    maps: list[dict[str, Any]] = []
    try:
        for account in list(dict.values(dynamodbstreams_backends)):
            for backend in list(dict.values(account)):
                iterators = getattr(backend, "shard_iterators", None)
                if isinstance(iterators, dict):
                    maps.append(iterators)
    except (AttributeError, RuntimeError, TypeError):
        logger.debug("cannot reach moto's shard iterators", exc_info=True)
    return maps
