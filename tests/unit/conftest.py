from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.tree import level_of, parent_of
from chalicelib.domain.units import Unit
from chalicelib.domain.users import User, normalize_phone
from chalicelib.services.auth import AuthService, OtpPolicy, phone_identity
from chalicelib.services.categories import CategoryService
from chalicelib.services.membership import JoinPolicy, MembershipService
from chalicelib.services.notifications import BindingEvents, NotificationService
from chalicelib.services.report_events import ReportEvents
from chalicelib.services.reports import ReportPolicy, ReportService
from chalicelib.services.units import UnitService
from tests import fakes

PHONE_KEY = b"unit-phone-key"
CODE_KEY = b"unit-join-code-key"

TREE = {
    "wuhan": "武汉市",
    "wuhan.wuchang": "武昌区",
    "wuhan.wuchang.shuiguohu": "水果湖街",
    "wuhan.wuchang.shuiguohu.dongting": "东亭社区",
    "wuhan.wuchang.shuiguohu.dongting.g01": "东亭社区第一网格",
    "wuhan.wuchang.shuiguohu.dongting.g02": "东亭社区第二网格",
    "wuhan.wuchang.zhongnanlu": "中南路街",
    "wuhan.wuchang.zhongnanlu.xinminzhulu": "新民主路社区",
    "wuhan.wuchang.zhongnanlu.xinminzhulu.g01": "新民主路社区第一网格",
}
G1 = "wuhan.wuchang.shuiguohu.dongting.g01"
G2 = "wuhan.wuchang.shuiguohu.dongting.g02"
OTHER_GRID = "wuhan.wuchang.zhongnanlu.xinminzhulu.g01"


@dataclass
class World:
    clock: fakes.FakeClock
    units: fakes.FakeUnits
    users: fakes.FakeUsers
    codes: fakes.FakeJoinCodes
    otps: fakes.FakeOneTimeCodes
    limiter: fakes.FakeRateLimiter
    sms: fakes.FakeSms
    publisher: fakes.FakePublisher
    inbox: fakes.FakeInbox
    access_log: fakes.FakeAccessLog
    auth: AuthService
    tree: UnitService
    membership: MembershipService
    notifications: NotificationService
    events: BindingEvents
    reports_repo: fakes.FakeReports
    workflow: fakes.FakeWorkflow
    counters: fakes.FakeCounters
    categories: CategoryService
    reports: ReportService
    report_events: ReportEvents

    def staff(self, role: Role, scope: str, phone: str = "13900000001", name: str = "张网格") -> Principal:
        user = User(
            user_id=f"{role.value}-{scope}-{phone}",
            role=role,
            scope=scope,
            created_at=self.clock.now(),
            phone=normalize_phone(phone),
            name=name,
        )
        self.users.create(user, [phone_identity(PHONE_KEY, user.phone or "")])
        return Principal(user.user_id, role, scope)

    def resident(self, phone: str = "13800000001", grid: str = "") -> Principal:
        self.sms.sent.clear()
        self.auth.request_sms_code(phone)
        signed = self.auth.verify_sms_code(phone, self.sms.last_code(normalize_phone(phone)))
        return Principal(signed.user.user_id, Role.RESIDENT, grid)


@pytest.fixture
def world() -> World:
    clock = fakes.FakeClock()
    units = fakes.FakeUnits()
    for path, name in TREE.items():
        units.add(Unit(path, name, level_of(path), parent_of(path), clock.now(), "seed"))
    codes = fakes.FakeJoinCodes()
    users = fakes.FakeUsers(codes)
    otps = fakes.FakeOneTimeCodes(clock)
    limiter = fakes.FakeRateLimiter(clock)
    sms = fakes.FakeSms()
    publisher = fakes.FakePublisher()
    inbox = fakes.FakeInbox()
    access_log = fakes.FakeAccessLog()
    auth = AuthService(users, otps, limiter, sms, fakes.FakeWeChat(), fakes.tokens(), clock, PHONE_KEY, OtpPolicy())
    membership = MembershipService(units, users, codes, access_log, clock, CODE_KEY, PHONE_KEY, JoinPolicy())
    reports_repo = fakes.FakeReports()
    workflow = fakes.FakeWorkflow()
    counters = fakes.FakeCounters()
    categories = CategoryService(fakes.FakeCategories())
    report_service = ReportService(
        reports_repo, categories, units, users, fakes.FakePhotos(), clock, ReportPolicy(autoclose_days=7)
    )
    report_events = ReportEvents(
        reports_repo,
        units,
        users,
        workflow,
        counters,
        publisher,
        lambda image: image,  # type: ignore[arg-type,return-value]
    )
    return World(
        clock=clock,
        units=units,
        users=users,
        codes=codes,
        otps=otps,
        limiter=limiter,
        sms=sms,
        publisher=publisher,
        inbox=inbox,
        access_log=access_log,
        auth=auth,
        tree=UnitService(units, users, clock, PHONE_KEY),
        membership=membership,
        notifications=NotificationService(inbox),
        events=BindingEvents(users, publisher, lambda image: User(**image)),  # type: ignore[arg-type]
        reports_repo=reports_repo,
        workflow=workflow,
        counters=counters,
        categories=categories,
        reports=report_service,
        report_events=report_events,
    )
