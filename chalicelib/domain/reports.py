"""Reports (报事): categories, the lifecycle as one state machine, deadlines and escalation.

A report lives in a grid. It is handled at a *step* of its escalation ladder — grid (0),
community (1), street (2), district (3) — and each step has a deadline. Missing it moves the
report one step up; missing the district's deadline gives it a red card (红牌). Any change of the
deadlines (acceptance, a transfer, a supervision order, a reopening) bumps ``arm``, which tells
the escalation workflow that its wait is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from math import asin, cos, radians, sin, sqrt
from typing import Any

from .auth import ADMIN_LEVEL, Principal, Role
from .errors import Conflict, Forbidden, InvalidInput
from .tree import Level, ancestor_at, is_within

LADDER: tuple[Level, ...] = (Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT)


class Status(StrEnum):
    SUBMITTED = "submitted"
    REOPENED = "reopened"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"

    @property
    def is_open(self) -> bool:
        return self in OPEN

    @property
    def awaits_acceptance(self) -> bool:
        return self in (Status.SUBMITTED, Status.REOPENED)


OPEN = frozenset({Status.SUBMITTED, Status.REOPENED, Status.ACCEPTED, Status.IN_PROGRESS})
TERMINAL = frozenset({Status.CLOSED, Status.REJECTED, Status.DUPLICATE})


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    URGENT = "urgent"


class Channel(StrEnum):
    APP = "app"
    WECHAT = "wechat"
    SMS = "sms"
    OPEN311 = "open311"
    PHONE = "phone"
    WALK_IN = "walk_in"


class Action(StrEnum):
    ACCEPT = "accept"
    START = "start"
    RESOLVE = "resolve"
    REJECT = "reject"
    TRANSFER = "transfer"
    MARK_DUPLICATE = "mark_duplicate"
    REOPEN = "reopen"
    CLOSE = "close"
    WITHDRAW = "withdraw"


class Actor(StrEnum):
    HANDLER = "handler"  # staff responsible for the report's area (and department)
    SUPERVISOR = "supervisor"  # community, street, district or city office over the report
    REPORTER = "reporter"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[Status]
    target: Status
    actors: frozenset[Actor]


_AWAITING = frozenset({Status.SUBMITTED, Status.REOPENED})
_WORKING = frozenset({Status.ACCEPTED, Status.IN_PROGRESS})
_HANDLING = frozenset({Actor.HANDLER, Actor.SUPERVISOR})

# The whole lifecycle: which action moves which statuses where, and who may take it.
RULES: dict[Action, Rule] = {
    Action.ACCEPT: Rule(_AWAITING, Status.ACCEPTED, _HANDLING),
    Action.START: Rule(frozenset({Status.ACCEPTED}), Status.IN_PROGRESS, _HANDLING),
    Action.RESOLVE: Rule(_WORKING, Status.RESOLVED, _HANDLING),
    Action.REJECT: Rule(_AWAITING | {Status.ACCEPTED}, Status.REJECTED, _HANDLING),
    Action.TRANSFER: Rule(_AWAITING | _WORKING, Status.SUBMITTED, _HANDLING),
    Action.MARK_DUPLICATE: Rule(_AWAITING | {Status.ACCEPTED}, Status.DUPLICATE, _HANDLING),
    Action.REOPEN: Rule(
        frozenset({Status.RESOLVED, Status.CLOSED}), Status.REOPENED, frozenset({Actor.REPORTER, Actor.SUPERVISOR})
    ),
    Action.CLOSE: Rule(frozenset({Status.RESOLVED}), Status.CLOSED, frozenset({Actor.REPORTER, Actor.SUPERVISOR})),
    Action.WITHDRAW: Rule(_AWAITING | {Status.ACCEPTED}, Status.CLOSED, frozenset({Actor.REPORTER})),
}

# Staff who handle reports in their area; department staff only for their department's categories.
HANDLER_ROLES = frozenset({Role.GRID_WORKER, Role.DEPT_STAFF, *ADMIN_LEVEL})


@dataclass(frozen=True)
class Deadlines:
    """Minutes to accept and hours to resolve, per urgency; each level of the ladder gets as long."""

    accept_minutes: dict[Urgency, int]
    resolve_hours: dict[Urgency, int]
    scale: float = 1.0  # the local stage runs the same rules in seconds instead of hours

    def window(self, phase_accept: bool, urgency: Urgency) -> timedelta:
        if phase_accept:
            return timedelta(minutes=self.accept_minutes[urgency]) * self.scale
        return timedelta(hours=self.resolve_hours[urgency]) * self.scale


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    department: str
    group: str
    description: str
    keywords: tuple[str, ...]
    deadlines: Deadlines
    active: bool = True


@dataclass(frozen=True)
class Location:
    building: str | None = None
    unit: str | None = None
    lat: float | None = None
    long: float | None = None
    address: str | None = None

    def check(self) -> None:
        if self.lat is None and self.long is None and not self.building and not self.address:
            raise InvalidInput("location", "give a building, an address, or lat and long")
        if (self.lat is None) != (self.long is None):
            raise InvalidInput("location.long" if self.long is None else "location.lat", "lat and long go together")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise InvalidInput("location.lat", "must be between -90 and 90")
        if self.long is not None and not -180 <= self.long <= 180:
            raise InvalidInput("location.long", "must be between -180 and 180")


@dataclass(frozen=True)
class Supervision:
    by: str
    role: Role
    deadline: datetime
    note: str
    at: datetime


@dataclass(frozen=True)
class Rating:
    stars: int
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    entry_id: str
    at: datetime
    actor_id: str  # "system" for the escalation workflow and schedules
    actor_role: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    report_id: str
    category: str
    department: str
    description: str
    urgency: Urgency
    grid_id: str
    location: Location
    reporter_id: str
    filed_by: str
    channel: Channel
    status: Status
    created_at: datetime
    updated_at: datetime
    step: int = 0
    arm: int = 0
    deadlines: tuple[datetime, ...] = ()
    red_card: bool = False
    photos: tuple[str, ...] = ()
    duplicate_of: str | None = None
    supervision: Supervision | None = None
    rating: Rating | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    last_actor: str | None = None  # who made the latest change ("system" for the workflow)
    version: int = 0

    @property
    def level(self) -> Level:
        return LADDER[self.step]

    @property
    def responsible_unit(self) -> str:
        return ancestor_at(self.grid_id, self.level) or self.grid_id

    @property
    def deadline(self) -> datetime | None:
        """The deadline now running, if the report is still waiting on someone."""
        if not self.status.is_open or not self.deadlines:
            return None
        return self.deadlines[self.step]

    def overdue(self, now: datetime) -> bool:
        deadline = self.deadline
        return self.red_card or (deadline is not None and now >= deadline)


def ladder_units(grid_id: str) -> list[str]:
    """The units a report in ``grid_id`` climbs through: grid, community, street, district."""
    return [ancestor_at(grid_id, level) or grid_id for level in LADDER]


def deadline_ladder(
    start: datetime, step: int, window: timedelta, first: datetime | None = None
) -> tuple[datetime, ...]:
    """Deadlines for every step: the current one ends at ``first`` (or after one window), and
    each level above gets one more window. Steps already passed keep the start time."""
    current = first or start + window
    deadlines = [start] * step + [current]
    for _ in range(step + 1, len(LADDER)):
        current = current + window
        deadlines.append(current)
    return tuple(deadlines)


def actor_kinds(principal: Principal, report: Report) -> set[Actor]:
    """What the caller is to this report: its reporter, a handler in its area, a supervisor."""
    kinds: set[Actor] = set()
    if principal.user_id == report.reporter_id:
        kinds.add(Actor.REPORTER)
    if principal.role.is_staff and is_within(principal.scope, report.grid_id):
        if principal.role in ADMIN_LEVEL:
            kinds.update({Actor.SUPERVISOR, Actor.HANDLER})
        elif principal.role is Role.GRID_WORKER or (
            principal.role is Role.DEPT_STAFF and principal.department == report.department
        ):
            kinds.add(Actor.HANDLER)
    return kinds


def can_read(principal: Principal, report: Report) -> bool:
    if principal.user_id in (report.reporter_id, report.filed_by):
        return True
    return principal.role.is_staff and is_within(principal.scope, report.grid_id)


def check_transition(action: Action, report: Report, kinds: set[Actor]) -> Rule:
    """The rule for ``action`` if the caller may take it now: 403 if not theirs, 409 if not now."""
    rule = RULES[action]
    if not kinds & rule.actors:
        raise Forbidden(f"you may not {action.value} this report")
    if report.status not in rule.sources:
        raise Conflict(
            f"cannot {action.value} a report that is {report.status.value}",
            code="invalid_transition",
            details={"status": report.status.value, "action": action.value},
        )
    return rule


def transition(
    report: Report,
    action: Action,
    at: datetime,
    deadlines: Deadlines,
    *,
    grid_id: str | None = None,
    department: str | None = None,
    duplicate_of: str | None = None,
) -> Report:
    """The report after ``action`` (already checked). Deadlines restart where the phase changes."""
    rule = RULES[action]
    changed = replace(report, status=rule.target, updated_at=at)
    if action is Action.ACCEPT:
        window = deadlines.window(False, report.urgency)
        changed = replace(changed, arm=report.arm + 1, deadlines=deadline_ladder(at, report.step, window))
    elif action is Action.TRANSFER:
        window = deadlines.window(True, report.urgency)
        changed = replace(
            changed,
            grid_id=grid_id or report.grid_id,
            department=department or report.department,
            step=0,
            red_card=False,
            arm=report.arm + 1,
            deadlines=deadline_ladder(at, 0, window),
        )
    elif action is Action.REOPEN:
        window = deadlines.window(True, report.urgency)
        changed = replace(
            changed,
            step=0,
            red_card=False,
            arm=report.arm + 1,
            deadlines=deadline_ladder(at, 0, window),
            resolved_at=None,
            closed_at=None,
            rating=None,
        )
    elif action is Action.RESOLVE:
        changed = replace(changed, resolved_at=at)
    elif action in (Action.CLOSE, Action.WITHDRAW):
        changed = replace(changed, closed_at=at)
    elif action is Action.MARK_DUPLICATE:
        changed = replace(changed, duplicate_of=duplicate_of, closed_at=at)
    elif action is Action.REJECT:
        changed = replace(changed, closed_at=at)
    return changed


def supervise(report: Report, supervision: Supervision, window: timedelta) -> Report:
    """A supervision order sets the current step's deadline; missing it escalates as usual."""
    if not report.status.is_open:
        raise Conflict(f"cannot supervise a report that is {report.status.value}", code="invalid_transition")
    if supervision.deadline <= supervision.at:
        raise InvalidInput("deadline", "must be in the future")
    return replace(
        report,
        supervision=supervision,
        arm=report.arm + 1,
        updated_at=supervision.at,
        deadlines=deadline_ladder(supervision.at, report.step, window, first=supervision.deadline),
    )


# --- duplicates: a geohash neighbourhood ---------------------------------------------------

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(lat: float, long: float, precision: int = 6) -> str:
    """Standard geohash; precision 6 is a cell of about 1.2 km x 0.6 km."""
    lat_range, long_range = [-90.0, 90.0], [-180.0, 180.0]
    bits, bit_count, even = 0, 0, True
    out: list[str] = []
    while len(out) < precision:
        rng, value = (long_range, long) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        bits <<= 1
        if value >= mid:
            bits |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even = not even
        bit_count += 1
        if bit_count == 5:
            out.append(_BASE32[bits])
            bits, bit_count = 0, 0
    return "".join(out)


def duplicate_key(category: str, grid_id: str, location: Location) -> str:
    """Where an open report waits to be found by the next person reporting the same thing."""
    if location.lat is not None and location.long is not None:
        return f"{category}|gh|{geohash(location.lat, location.long)}"
    if location.building:
        return f"{category}|b|{grid_id}|{location.building.strip().lower()}"
    return f"{category}|g|{grid_id}"


def distance_m(a: Location, b: Location) -> float | None:
    if None in (a.lat, a.long, b.lat, b.long):
        return None
    lat1, lon1, lat2, lon2 = map(radians, (a.lat, a.long, b.lat, b.long))  # type: ignore[arg-type]
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * asin(sqrt(h))
