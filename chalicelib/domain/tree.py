"""The administrative tree: city → district → street → community → grid.

A unit is identified by its path, the slugs from the city down joined by dots, for example
``wuhan.wuchang.shuiguohu.dongting.g03``. A dot (not a slash) keeps every unit id a single URL
segment, which is all API Gateway accepts as a path parameter. Scope checks and roll-ups are
prefix checks on that path.
"""

from __future__ import annotations

import re
from enum import StrEnum

from .errors import InvalidInput

SEPARATOR = "."
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class Level(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"

    @property
    def depth(self) -> int:
        return LEVELS.index(self) + 1

    @property
    def child(self) -> Level | None:
        i = LEVELS.index(self)
        return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


LEVELS: tuple[Level, ...] = (Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID)


def validate_path(path: str, field: str = "unit_id") -> str:
    """Return the path if every segment is a slug and the depth is a real level."""
    parts = path.split(SEPARATOR) if path else []
    if not parts or len(parts) > len(LEVELS):
        raise InvalidInput(field, f"must be 1 to {len(LEVELS)} slugs joined by '{SEPARATOR}'")
    for part in parts:
        if not _SLUG.match(part):
            raise InvalidInput(field, f"segment {part!r} must be lowercase letters, digits and '-'")
    return path


def validate_slug(slug: str, field: str = "slug") -> str:
    if not _SLUG.match(slug):
        raise InvalidInput(field, "must be 1-40 lowercase letters, digits and '-', not starting with '-'")
    return slug


def level_of(path: str) -> Level:
    return LEVELS[len(path.split(SEPARATOR)) - 1]


def parent_of(path: str) -> str | None:
    head, sep, _ = path.rpartition(SEPARATOR)
    return head if sep else None


def child_path(parent: str, slug: str) -> str:
    return f"{parent}{SEPARATOR}{slug}"


def ancestors(path: str) -> list[str]:
    """The path's ancestors from the city down, not including the path itself."""
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]


def ancestor_at(path: str, level: Level) -> str | None:
    parts = path.split(SEPARATOR)
    if len(parts) < level.depth:
        return None
    return SEPARATOR.join(parts[: level.depth])


def is_within(scope: str, path: str) -> bool:
    """True when ``path`` is ``scope`` itself or lies anywhere under it.

    This is the one scope check of the whole product: every module asks it.
    """
    if not scope or not path:
        return False
    return path == scope or path.startswith(scope + SEPARATOR)
