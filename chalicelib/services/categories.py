"""Report categories: the city's list, the defaults from the original system, and a warm cache."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.reports import Category, Deadlines, Urgency
from chalicelib.domain.tree import SEPARATOR, validate_slug
from chalicelib.services.ports import CategoryRepository

_CACHE_SECONDS = 60.0


def _deadlines(accept: tuple[int, int, int], resolve: tuple[int, int, int]) -> Deadlines:
    urgencies = (Urgency.LOW, Urgency.NORMAL, Urgency.URGENT)
    return Deadlines(dict(zip(urgencies, accept, strict=True)), dict(zip(urgencies, resolve, strict=True)))


# Minutes to accept and hours to resolve (low, normal, urgent), at each level of the ladder.
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        "construction-waste",
        "建筑垃圾与环境卫生",
        "城管",
        "市容环境",
        "Construction waste, rubbish, dirty public areas (建筑垃圾、环境卫生)",
        ("建筑垃圾", "垃圾", "卫生", "waste", "rubbish"),
        _deadlines((240, 60, 20), (72, 24, 8)),
    ),
    Category(
        "water-leak",
        "漏水与房屋",
        "房管",
        "房屋",
        "Leaks between flats, broken pipes, housing repairs (漏水、房屋维修)",
        ("漏水", "水管", "房屋", "leak", "pipe"),
        _deadlines((120, 30, 10), (72, 24, 4)),
    ),
    Category(
        "facility-repair",
        "公共设施报修",
        "城建",
        "公共设施",
        "Street lights, lifts, doors, roads, public facilities (路灯、电梯、道路)",
        ("路灯", "电梯", "设施", "repair", "light"),
        _deadlines((240, 120, 30), (168, 72, 24)),
    ),
    Category(
        "safety-hazard",
        "安全隐患",
        "应急管理",
        "安全",
        "Fire risks, blocked exits, dangerous structures (消防、安全隐患)",
        ("消防", "隐患", "危险", "hazard", "fire"),
        _deadlines((60, 20, 5), (48, 12, 2)),
    ),
    Category(
        "neighbour-dispute",
        "邻里纠纷",
        "司法调解",
        "社会治理",
        "Noise and disputes between neighbours (噪音、邻里矛盾)",
        ("纠纷", "噪音", "邻里", "dispute", "noise"),
        _deadlines((480, 240, 60), (168, 72, 24)),
    ),
    Category(
        "epidemic",
        "疫情防控",
        "卫健",
        "疫情",
        "Epidemic prevention: fever, quarantine needs, supplies (发热、隔离、物资)",
        ("疫情", "发热", "隔离", "epidemic", "fever"),
        _deadlines((30, 10, 5), (24, 6, 2)),
    ),
    Category(
        "other",
        "其他",
        "社区",
        "其他",
        "Anything else for the community office (其他事项)",
        ("其他", "other"),
        _deadlines((480, 240, 60), (168, 72, 24)),
    ),
)


def city_of(path: str) -> str:
    return path.split(SEPARATOR, 1)[0]


@dataclass
class _Cached:
    at: float
    items: dict[str, Category]


class CategoryService:
    """Reads a city's categories (seeded with the defaults), cached for a minute per warm process."""

    def __init__(self, repo: CategoryRepository) -> None:
        self._repo = repo
        self._cache: dict[str, _Cached] = {}

    def all(self, city: str) -> dict[str, Category]:
        cached = self._cache.get(city)
        if cached is not None and time.monotonic() - cached.at < _CACHE_SECONDS:
            return cached.items
        items = {c.code: c for c in self._repo.for_city(city)}
        if not items:
            items = {c.code: c for c in DEFAULT_CATEGORIES}
        self._cache[city] = _Cached(time.monotonic(), items)
        return items

    def active(self, city: str) -> list[Category]:
        return [c for c in self.all(city).values() if c.active]

    def get(self, city: str, code: str, field: str = "category") -> Category:
        category = self.all(city).get(code)
        if category is None or not category.active:
            raise InvalidInput(field, f"unknown category {code!r}; see GET /v1/report-categories")
        return category

    def find(self, city: str, code: str) -> Category:
        category = self.all(city).get(code)
        if category is None:
            raise NotFound(f"no category {code}", code="category_not_found")
        return category

    def save(self, principal: Principal, city: str, category: Category) -> Category:
        """Add or change a category (city admins of that city)."""
        if principal.role is not Role.CITY_ADMIN or principal.scope != city:
            raise Forbidden("only the city's administrators manage report categories")
        validate_slug(category.code, "code")
        for urgency in Urgency:
            if category.deadlines.accept_minutes.get(urgency, 0) <= 0:
                raise InvalidInput(f"accept_minutes.{urgency.value}", "must be a positive number of minutes")
            if category.deadlines.resolve_hours.get(urgency, 0) <= 0:
                raise InvalidInput(f"resolve_hours.{urgency.value}", "must be a positive number of hours")
        current = self.all(city)
        if not self._repo.for_city(city):
            # The first change writes the defaults down too, so the city keeps all of them.
            self._repo.save_all(city, [c for code, c in current.items() if code != category.code])
        self._repo.save_all(city, [category])
        self._cache.pop(city, None)
        return category
