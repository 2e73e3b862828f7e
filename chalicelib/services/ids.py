"""Sortable ids (ULID): newest first needs no extra index."""

from __future__ import annotations

import hashlib
from datetime import datetime

from ulid import ULID


def new_id() -> str:
    return str(ULID())


def id_at(at: datetime) -> str:
    """A fresh ULID whose time part is ``at`` (for records created at a known moment)."""
    return str(ULID.from_datetime(at))


def derived_id(cause: str, at: datetime) -> str:
    """A ULID whose time part is ``at`` and whose random part comes from ``cause``.

    The same cause always yields the same id, so a redelivered event writes the same item.
    """
    entropy = hashlib.sha256(cause.encode()).digest()[:10]
    millis = int(at.timestamp() * 1000)
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + entropy))
