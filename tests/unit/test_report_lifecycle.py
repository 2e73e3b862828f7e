"""Every action × every kind of caller × every status: allowed, forbidden (403) or not now (409)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput
from chalicelib.domain.reports import (
    LADDER,
    RULES,
    Action,
    Actor,
    Channel,
    Deadlines,
    Location,
    Report,
    Status,
    Supervision,
    Urgency,
    actor_kinds,
    can_read,
    check_transition,
    deadline_ladder,
    distance_m,
    duplicate_key,
    geohash,
    ladder_units,
    supervise,
    transition,
)
from tests.fakes import T0

GRID = "wuhan.wuchang.shuiguohu.dongting.g01"
DEADLINES = Deadlines(dict.fromkeys(Urgency, 60), dict.fromkeys(Urgency, 24))


def report(status: Status = Status.SUBMITTED, **kw: object) -> Report:
    base: dict[str, object] = {
        "report_id": "r1",
        "category": "construction-waste",
        "department": "城管",
        "description": "建筑垃圾",
        "urgency": Urgency.NORMAL,
        "grid_id": GRID,
        "location": Location(building="15"),
        "reporter_id": "chen",
        "filed_by": "chen",
        "channel": Channel.APP,
        "status": status,
        "created_at": T0,
        "updated_at": T0,
        "deadlines": deadline_ladder(T0, 0, timedelta(hours=1)),
    }
    base.update(kw)
    return Report(**base)  # type: ignore[arg-type]


CALLERS = {
    "reporter": Principal("chen", Role.RESIDENT, GRID),
    "grid_worker": Principal("zhang", Role.GRID_WORKER, GRID),
    "other_grid_worker": Principal("wang", Role.GRID_WORKER, "wuhan.wuchang.shuiguohu.dongting.g02"),
    "dept_staff": Principal("huang", Role.DEPT_STAFF, GRID, department="城管"),
    "other_dept_staff": Principal("li", Role.DEPT_STAFF, GRID, department="房管"),
    "community_admin": Principal("liu", Role.COMMUNITY_ADMIN, "wuhan.wuchang.shuiguohu.dongting"),
    "street_admin": Principal("zhao", Role.STREET_ADMIN, "wuhan.wuchang.shuiguohu"),
    "other_street_admin": Principal("zhou", Role.STREET_ADMIN, "wuhan.wuchang.zhongnanlu"),
    "neighbour": Principal("wu", Role.RESIDENT, GRID),
}
KINDS = {
    "reporter": {Actor.REPORTER},
    "grid_worker": {Actor.HANDLER},
    "other_grid_worker": set(),
    "dept_staff": {Actor.HANDLER},
    "other_dept_staff": set(),
    "community_admin": {Actor.HANDLER, Actor.SUPERVISOR},
    "street_admin": {Actor.HANDLER, Actor.SUPERVISOR},
    "other_street_admin": set(),
    "neighbour": set(),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_who_is_what_to_a_report(caller: str) -> None:
    assert actor_kinds(CALLERS[caller], report()) == KINDS[caller]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_for_every_caller_in_every_status(caller: str, action: Action, status: Status) -> None:
    rule = RULES[action]
    kinds = actor_kinds(CALLERS[caller], report(status))
    if not kinds & rule.actors:
        with pytest.raises(Forbidden):
            check_transition(action, report(status), kinds)
    elif status not in rule.sources:
        with pytest.raises(Conflict) as err:
            check_transition(action, report(status), kinds)
        assert err.value.code == "invalid_transition"
    else:
        assert check_transition(action, report(status), kinds) is rule


def test_the_lifecycle_from_submitted_to_closed() -> None:
    r = report()
    r = transition(r, Action.ACCEPT, T0 + timedelta(minutes=5), DEADLINES)
    assert r.status is Status.ACCEPTED and r.arm == 1
    assert r.deadline == T0 + timedelta(minutes=5, hours=24)  # now the resolve deadline runs
    r = transition(r, Action.START, T0 + timedelta(minutes=6), DEADLINES)
    r = transition(r, Action.RESOLVE, T0 + timedelta(hours=1), DEADLINES)
    assert r.status is Status.RESOLVED and r.resolved_at == T0 + timedelta(hours=1) and r.deadline is None
    r = transition(r, Action.CLOSE, T0 + timedelta(hours=2), DEADLINES)
    assert r.status is Status.CLOSED and r.closed_at is not None


def test_transfer_and_reopen_restart_the_ladder_at_the_grid() -> None:
    escalated = report(step=2, red_card=True)
    moved = transition(escalated, Action.TRANSFER, T0, DEADLINES, grid_id="wuhan.wuchang.shuiguohu.dongting.g02")
    assert (moved.step, moved.red_card, moved.grid_id, moved.arm) == (
        0,
        False,
        "wuhan.wuchang.shuiguohu.dongting.g02",
        1,
    )
    reopened = transition(report(Status.RESOLVED, step=1), Action.REOPEN, T0, DEADLINES)
    assert (reopened.status, reopened.step, reopened.resolved_at) == (Status.REOPENED, 0, None)


def test_deadline_ladder_gives_each_level_a_window() -> None:
    ladder = deadline_ladder(T0, 1, timedelta(minutes=30))
    assert ladder == (T0, T0 + timedelta(minutes=30), T0 + timedelta(minutes=60), T0 + timedelta(minutes=90))


def test_supervision_sets_the_running_deadline_and_rearms() -> None:
    order = Supervision("liu", Role.COMMUNITY_ADMIN, T0 + timedelta(hours=2), "今天处理", T0)
    supervised = supervise(report(step=1), order, timedelta(hours=1))
    assert supervised.deadline == T0 + timedelta(hours=2) and supervised.arm == 1
    with pytest.raises(InvalidInput):
        supervise(report(), Supervision("liu", Role.COMMUNITY_ADMIN, T0, "x", T0), timedelta(hours=1))
    with pytest.raises(Conflict):
        supervise(report(Status.CLOSED), order, timedelta(hours=1))


def test_overdue_and_the_ladder_units() -> None:
    r = report()
    assert not r.overdue(T0) and r.overdue(T0 + timedelta(hours=1))
    assert report(Status.CLOSED).deadline is None
    assert ladder_units(GRID) == [GRID, "wuhan.wuchang.shuiguohu.dongting", "wuhan.wuchang.shuiguohu", "wuhan.wuchang"]
    assert [level.value for level in LADDER] == ["grid", "community", "street", "district"]
    assert report(step=1).responsible_unit == "wuhan.wuchang.shuiguohu.dongting"


def test_who_can_read_a_report() -> None:
    assert can_read(CALLERS["reporter"], report())
    assert can_read(CALLERS["street_admin"], report())
    assert not can_read(CALLERS["neighbour"], report())
    assert not can_read(CALLERS["other_street_admin"], report())


def test_duplicate_keys_and_distance() -> None:
    assert geohash(30.5447, 114.3416, 6) == geohash(30.5449, 114.3418, 6)
    near = Location(lat=30.5447, long=114.3416)
    assert duplicate_key("water-leak", GRID, near).startswith("water-leak|gh|")
    assert duplicate_key("water-leak", GRID, Location(building="15")) == f"water-leak|b|{GRID}|15"
    assert distance_m(near, Location(lat=30.5456, long=114.3416)) == pytest.approx(100, abs=2)
    assert distance_m(near, Location(building="1")) is None


@pytest.mark.parametrize(
    ("location", "field"),
    [(Location(), "location"), (Location(lat=30.0), "location.long"), (Location(lat=95, long=1), "location.lat")],
)
def test_a_location_must_say_where(location: Location, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        location.check()
    assert err.value.field == field
