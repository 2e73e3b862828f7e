"""A unit of the administrative tree, and pages of anything listed newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from .tree import Level

T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    level: Level
    parent_id: str | None
    created_at: datetime
    created_by: str
    address: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
