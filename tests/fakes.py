"""In-memory fakes of the ports, for fast unit tests of the use cases (no sockets, no moto)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.tokens import JwtTokens
from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Conflict, Gone, InvalidInput, Unavailable
from chalicelib.domain.joining import JoinCode
from chalicelib.domain.notifications import Notification
from chalicelib.domain.reports import Category, Report, Status, TimelineEntry, duplicate_key
from chalicelib.domain.tree import is_within
from chalicelib.domain.units import Page, Unit
from chalicelib.domain.users import BindingStatus, User
from chalicelib.services.ports import ReportFilter, ReportView

T0 = datetime(2020, 1, 25, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def _page(items: list[Any], key: Any, limit: int, cursor: str | None, newest_first: bool = False) -> Page[Any]:
    ordered = sorted(items, key=key, reverse=newest_first)
    start = int(base64.b64decode(cursor).decode()) if cursor else 0
    chunk = ordered[start : start + limit]
    more = start + limit < len(ordered)
    return Page(chunk, base64.b64encode(str(start + limit).encode()).decode() if more else None)


class FakeUnits:
    def __init__(self) -> None:
        self.items: dict[str, Unit] = {}

    def get(self, unit_id: str) -> Unit | None:
        return self.items.get(unit_id)

    def add(self, unit: Unit) -> None:
        if unit.unit_id in self.items:
            raise Conflict("exists", code="unit_exists")
        self.items[unit.unit_id] = unit

    def children(self, parent_id: str, limit: int, cursor: str | None) -> Page[Unit]:
        kids = [u for u in self.items.values() if u.parent_id == parent_id]
        return _page(kids, lambda u: u.unit_id, limit, cursor)


class FakeUsers:
    def __init__(self, codes: FakeJoinCodes | None = None) -> None:
        self.items: dict[str, User] = {}
        self.identities: dict[str, str] = {}
        self.codes = codes

    def get(self, user_id: str) -> User | None:
        return self.items.get(user_id)

    def get_many(self, user_ids: list[str]) -> dict[str, User]:
        return {uid: self.items[uid] for uid in user_ids if uid in self.items}

    def find_by_identity(self, identity: str) -> User | None:
        user_id = self.identities.get(identity)
        return self.items.get(user_id) if user_id else None

    def create(self, user: User, identities: list[str]) -> None:
        if any(i in self.identities for i in identities) or user.user_id in self.items:
            raise Conflict("taken", code="identity_taken")
        self.items[user.user_id] = replace(user, version=1)
        for identity in identities:
            self.identities[identity] = user.user_id

    def save(self, user: User) -> User:
        stored = self.items.get(user.user_id)
        if stored is not None and stored.version != user.version:
            raise Conflict("lost update", code="concurrent_update")
        saved = replace(user, version=user.version + 1)
        self.items[user.user_id] = saved
        return saved

    def link_identity(self, user: User, identity: str) -> None:
        owner = self.identities.get(identity)
        if owner is not None and owner != user.user_id:
            raise Conflict("taken", code="identity_taken")
        self.identities[identity] = user.user_id

    def release_identities(self, identities: list[str]) -> None:
        for identity in identities:
            self.identities.pop(identity, None)

    def staff(self, unit_id: str, role: Role | None, limit: int, cursor: str | None) -> Page[User]:
        found = [
            u
            for u in self.items.values()
            if u.role.is_staff and u.scope == unit_id and not u.erased and (role is None or u.role is role)
        ]
        return _page(found, lambda u: (u.role.value, u.user_id), limit, cursor)

    def residents(self, grid_id: str, status: BindingStatus | None, limit: int, cursor: str | None) -> Page[User]:
        found = [
            u
            for u in self.items.values()
            if u.binding is not None
            and u.binding.grid_id == grid_id
            and not u.erased
            and (status is None or u.binding.status is status)
        ]
        return _page(found, lambda u: (u.binding.status.value if u.binding else "", u.user_id), limit, cursor)

    def bind(self, user: User, code_id: str, now: datetime) -> User:
        assert self.codes is not None
        code = self.codes.get(code_id)
        if code is None:
            raise Gone("unknown", code="join_code_unknown")
        code.check_usable(now)
        saved = self.save(user)
        self.codes.items[code_id] = code.used_once()
        return saved


class FakeJoinCodes:
    def __init__(self) -> None:
        self.items: dict[str, JoinCode] = {}

    def add(self, code: JoinCode) -> None:
        self.items[code.code_id] = code

    def get(self, code_id: str) -> JoinCode | None:
        return self.items.get(code_id)

    def revoke(self, code_id: str) -> None:
        self.items[code_id] = replace(self.items[code_id], revoked=True)

    def for_grid(self, grid_id: str, limit: int, cursor: str | None) -> Page[JoinCode]:
        found = [c for c in self.items.values() if c.grid_id == grid_id]
        return _page(found, lambda c: c.code_id, limit, cursor, newest_first=True)


@dataclass
class _Otp:
    code_hash: str
    tries: int
    expires: datetime


class FakeOneTimeCodes:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: dict[str, _Otp] = {}

    def store(self, key: str, code_hash: str, ttl_seconds: int) -> None:
        self.items[key] = _Otp(code_hash, 0, self.clock.now() + timedelta(seconds=ttl_seconds))

    def take_attempt(self, key: str, max_tries: int) -> str | None:
        otp = self.items.get(key)
        if otp is None or otp.expires <= self.clock.now():
            return None
        if otp.tries >= max_tries:
            raise Gone("too many", code="code_attempts_exhausted")
        otp.tries += 1
        return otp.code_hash

    def discard(self, key: str) -> None:
        self.items.pop(key, None)


class FakeRateLimiter:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.counts: dict[str, int] = {}

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        window = int(self.clock.now().timestamp() // window_seconds)
        bucket = f"{key}#{window_seconds}#{window}"
        if self.counts.get(bucket, 0) >= limit:
            return False
        self.counts[bucket] = self.counts.get(bucket, 0) + 1
        return True


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False

    def send(self, phone: str, text: str) -> None:
        if self.down:
            raise Unavailable("down")
        self.sent.append((phone, text))

    def last_code(self, phone: str) -> str:
        text = next(t for p, t in reversed(self.sent) if p == phone)
        return next(word for word in text.replace("，", " ").split() if word.isdigit() and len(word) == 6)


class FakeWeChat:
    def openid_for(self, login_code: str) -> str:
        if login_code.startswith("bad"):
            raise InvalidInput("code", "WeChat refused the login code")
        return f"o-{login_code}"


@dataclass
class FakePublisher:
    published: list[Notification] = field(default_factory=list)

    def publish(self, notifications: list[Notification]) -> None:
        self.published.extend(notifications)


class FakeInbox:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Notification]] = {}
        self.unread: dict[str, int] = {}
        self.read_up_to: dict[str, str] = {}

    def deliver(self, notification: Notification) -> bool:
        box = self.items.setdefault(notification.user_id, {})
        if notification.notification_id in box:
            return False
        box[notification.notification_id] = notification
        self.unread[notification.user_id] = self.unread.get(notification.user_id, 0) + 1
        return True

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[Page[Notification], int, str | None]:
        items = list(self.items.get(user_id, {}).values())
        page = _page(items, lambda n: n.notification_id, limit, cursor, newest_first=True)
        return page, self.unread.get(user_id, 0), self.read_up_to.get(user_id)

    def mark_read(self, user_id: str, up_to: str) -> None:
        self.unread[user_id] = 0
        self.read_up_to[user_id] = up_to


class FakeAccessLog:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []

    def record(self, subject_ids: list[str], actor: Principal, action: str, at: datetime) -> None:
        self.entries.extend((s, actor.user_id, action) for s in subject_ids)


def tokens(ttl: int = 3600) -> JwtTokens:
    return JwtTokens("unit-test-secret-0123456789abcdef", ttl)


def decode_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# --- reports -------------------------------------------------------------------------------------


class FakeReports:
    def __init__(self) -> None:
        self.items: dict[str, Report] = {}
        self.timelines: dict[str, dict[str, TimelineEntry]] = {}
        self.followers: dict[str, list[str]] = {}

    def get(self, report_id: str) -> Report | None:
        return self.items.get(report_id)

    def view(self, report_id: str, timeline_limit: int) -> ReportView | None:
        report = self.items.get(report_id)
        if report is None:
            return None
        entries = sorted(self.timelines.get(report_id, {}).values(), key=lambda e: e.entry_id)[:timeline_limit]
        return ReportView(report, entries, list(self.followers.get(report_id, [])))

    def create(self, report: Report, entry: TimelineEntry) -> None:
        assert report.report_id not in self.items
        self.items[report.report_id] = replace(report, version=1, last_actor=entry.actor_id)
        self.timelines.setdefault(report.report_id, {})[entry.entry_id] = entry

    def save(self, report: Report, entry: TimelineEntry | None) -> Report:
        stored = self.items[report.report_id]
        if stored.version != report.version:
            raise Conflict("lost update", code="concurrent_update")
        saved = replace(report, version=report.version + 1, last_actor=entry.actor_id if entry else report.last_actor)
        self.items[report.report_id] = saved
        if entry is not None:
            self.timelines.setdefault(report.report_id, {})[entry.entry_id] = entry
        return saved

    def add_timeline(self, report_id: str, entry: TimelineEntry) -> bool:
        entries = self.timelines.setdefault(report_id, {})
        if entry.entry_id in entries:
            return False
        entries[entry.entry_id] = entry
        return True

    def follow(self, report_id: str, user_id: str, at: datetime) -> None:
        followers = self.followers.setdefault(report_id, [])
        if user_id not in followers:
            followers.append(user_id)

    def open_nearby(self, dup_key: str, limit: int) -> list[Report]:
        return [
            r
            for r in self.items.values()
            if r.status.is_open and duplicate_key(r.category, r.grid_id, r.location) == dup_key
        ][:limit]

    def for_reporter(self, user_id: str, limit: int, cursor: str | None) -> Page[Report]:
        mine = [r for r in self.items.values() if r.reporter_id == user_id]
        return _page(mine, lambda r: r.report_id, limit, cursor, newest_first=True)

    def for_unit(
        self, unit_id: str, level: Any, report_filter: ReportFilter, now: datetime, limit: int, cursor: str | None
    ) -> Page[Report]:
        def keep(r: Report) -> bool:
            f = report_filter
            return (
                is_within(unit_id, r.grid_id)
                and (not f.open_only or r.status.is_open)
                and (f.status is None or r.status is f.status)
                and (f.category is None or r.category == f.category)
                and (f.level is None or r.level is f.level)
                and (not f.overdue or (r.status.is_open and r.overdue(now)))
            )

        return _page([r for r in self.items.values() if keep(r)], lambda r: r.report_id, limit, cursor, True)

    def resolved_on(self, day: str, limit: int, cursor: str | None) -> Page[Report]:
        found = [
            r
            for r in self.items.values()
            if r.status is Status.RESOLVED and r.resolved_at and r.resolved_at.strftime("%Y-%m-%d") == day
        ]
        return _page(found, lambda r: r.report_id, limit, cursor)


class FakeWorkflow:
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []

    def start(self, report_id: str, arm: int) -> None:
        if (report_id, arm) not in self.started:
            self.started.append((report_id, arm))


class FakePhotos:
    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        return {"url": "https://photos.test/", "fields": {"key": key, "Content-Type": content_type}}

    def view_url(self, key: str, expires_in: int) -> str:
        return f"https://photos.test/{key}"


class FakeCounters:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, int]] = {}
        self.seen: set[str] = set()

    def add(self, event_id: str, increments: dict[str, dict[str, int]], shards: dict[str, int]) -> bool:
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        for key, fields in increments.items():
            row = self.values.setdefault(key.rsplit("#", 1)[0] if key in shards else key, {})
            for name, n in fields.items():
                row[name] = row.get(name, 0) + n
        return True

    def read(self, key: str, shards: int) -> dict[str, int]:
        return dict(self.values.get(key, {}))


class FakeCategories:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Category]] = {}

    def for_city(self, city: str) -> list[Category]:
        return list(self.items.get(city, {}).values())

    def save_all(self, city: str, categories: list[Category]) -> None:
        for c in categories:
            self.items.setdefault(city, {})[c.code] = c
