"""Demo data from the original system (the article in ../shared/seed/), loaded by the local stack.

Wuhan → 武昌区 → 水果湖街 → 东亭社区 (grid worker 张忻欣, resident 陈雯, who reported the
construction waste at building 15) and 中南路街 → 新民主路社区 (grid worker 王晓敏, resident 王伟,
whose ceiling leaked from the 8th floor). Loading is idempotent: a restart finds it all there and
adds nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import bootstrap
from chalicelib.adapters.people import DynamoJoinCodeRepository, DynamoUnitRepository
from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Conflict
from chalicelib.domain.joining import JoinCode, sign_join_code
from chalicelib.domain.tree import level_of, parent_of
from chalicelib.domain.units import Unit
from chalicelib.domain.users import Binding, BindingStatus, User
from chalicelib.services.auth import phone_identity
from chalicelib.services.ids import derived_id

SINCE = datetime(2018, 7, 1, tzinfo=UTC)  # the platform went city-wide in July 2018

DONGTING = "wuhan.wuchang.shuiguohu.dongting"
XINMINZHULU = "wuhan.wuchang.zhongnanlu.xinminzhulu"

UNITS: dict[str, tuple[str, str | None]] = {
    "wuhan": ("武汉市", None),
    "wuhan.wuchang": ("武昌区", None),
    "wuhan.wuchang.shuiguohu": ("水果湖街", None),
    DONGTING: ("东亭社区", "武昌区水果湖街东亭路"),
    f"{DONGTING}.g01": ("东亭社区第一网格", "东亭小区1-15栋"),
    f"{DONGTING}.g02": ("东亭社区第二网格", "东亭小区16-30栋"),
    f"{DONGTING}.g03": ("东亭社区第三网格", "东亭小区31-42栋"),
    "wuhan.wuchang.zhongnanlu": ("中南路街", None),
    XINMINZHULU: ("新民主路社区", "武昌区中南路街新民主路"),
    f"{XINMINZHULU}.g01": ("新民主路社区第一网格", "一宿舍"),
    f"{XINMINZHULU}.g02": ("新民主路社区第二网格", "二宿舍"),
    "wuhan.jiangan": ("江岸区", None),
}


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    phone: str
    role: Role
    scope: str
    title: str | None = None
    department: str | None = None
    address: tuple[str, str, str] | None = None  # residents: building, unit, room

    @property
    def user_id(self) -> str:
        return derived_id(f"demo|{self.key}", SINCE)


PEOPLE: tuple[Person, ...] = (
    Person("chenwen", "陈雯", "+8613800000001", Role.RESIDENT, f"{DONGTING}.g01", address=("15", "1", "502")),
    Person("wangwei", "王伟", "+8613800000002", Role.RESIDENT, f"{XINMINZHULU}.g01", address=("一宿舍", "4", "702")),
    Person("zhangxinxin", "张忻欣", "+8613900000001", Role.GRID_WORKER, f"{DONGTING}.g01", title="网格员"),
    Person("wangxiaomin", "王晓敏", "+8613900000002", Role.GRID_WORKER, f"{XINMINZHULU}.g01", title="网格员"),
    Person("dongting-admin", "刘书记", "+8613900000010", Role.COMMUNITY_ADMIN, DONGTING, title="社区书记"),
    Person("xinminzhulu-admin", "周主任", "+8613900000011", Role.COMMUNITY_ADMIN, XINMINZHULU, title="社区主任"),
    Person(
        "shuiguohu-admin", "赵主任", "+8613900000020", Role.STREET_ADMIN, "wuhan.wuchang.shuiguohu", title="街道办主任"
    ),
    Person("wuchang-admin", "孙科长", "+8613900000030", Role.DISTRICT_ADMIN, "wuhan.wuchang", title="区网格办"),
    Person("city-ops", "市运营值班", "+8613900000040", Role.CITY_ADMIN, "wuhan", title="城市运行"),
    Person(
        "chengguan", "黄队员", "+8613900000050", Role.DEPT_STAFF, f"{DONGTING}.g01", title="城管队员", department="城管"
    ),
)

DEMO_CODE_ID = "demo-dongting-g01"


def _units() -> None:
    repo = DynamoUnitRepository()
    for path, (name, address) in UNITS.items():
        if repo.get(path) is None:
            repo.add(Unit(path, name, level_of(path), parent_of(path), SINCE, "demo", address))


def _user(person: Person) -> User:
    binding = None
    if person.address is not None:
        building, unit, room = person.address
        binding = Binding(
            person.scope,
            building,
            unit,
            room,
            BindingStatus.VERIFIED,
            SINCE,
            DEMO_CODE_ID,
            verified_by=derived_id("demo|zhangxinxin", SINCE),
            verified_at=SINCE,
        )
    return User(
        user_id=person.user_id,
        role=person.role,
        scope="" if person.role is Role.RESIDENT else person.scope,
        created_at=SINCE,
        phone=person.phone,
        name=person.name,
        title=person.title,
        department=person.department,
        binding=binding,
    )


def _people() -> None:
    users = bootstrap.users()
    for person in PEOPLE:
        if users.get(person.user_id) is not None:
            continue
        try:
            users.create(_user(person), [phone_identity(bootstrap.phone_key(), person.phone)])
        except Conflict:
            continue  # the phone was taken by a sign-in before the demo loaded: keep theirs


def _join_code(now: datetime) -> str:
    repo = DynamoJoinCodeRepository()
    code = repo.get(DEMO_CODE_ID)
    if code is None:
        code = JoinCode(DEMO_CODE_ID, f"{DONGTING}.g01", PEOPLE[2].user_id, now, now + timedelta(days=365), 10_000)
        repo.add(code)
    return sign_join_code(bootstrap.join_code_key(), code)


def after_restore() -> None:
    """Re-arm the escalation of every open report: the restored endpoint has no executions."""
    started = bootstrap.report_events().rearm("wuhan", datetime.now(UTC))
    if started:
        logging.getLogger(__name__).info("re-armed the escalation of %d open report(s)", started)


def issue_token(role: str, scope: str, user_id: str | None = None) -> str:
    """A token for ``make token`` and the banner (local stage only)."""
    return bootstrap.auth_service().dev_token(role, scope, user_id).token


def _token_for(person: Person, now: datetime) -> str:
    principal = Principal(person.user_id, person.role, person.scope, person.department)
    token, _ = bootstrap.tokens().issue(principal, now)
    return token


def load_demo_data() -> dict[str, Any]:
    """Create the demo tree, people and join code if missing; return tokens and notes to print."""
    now = datetime.now(UTC)
    _units()
    _people()
    join_code = _join_code(now)
    tokens = {f"{p.key} ({p.name}, {p.role.value})": _token_for(p, now) for p in PEOPLE}
    return {
        "tokens": tokens,
        "notes": [
            f"join code for 东亭社区第一网格 (POST /v1/me/binding): {join_code}",
            'sign in by SMS as any demo person: POST /v1/auth/sms/code {"phone": "13800000001"}, '
            "then read the code from the sandbox outbox",
        ],
        "join_code": join_code,
        "resident_token": tokens[f"chenwen (陈雯, {Role.RESIDENT.value})"],
    }
