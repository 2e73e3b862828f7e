from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.auth import Role
from chalicelib.domain.reports import Location, Report, Status, Urgency
from chalicelib.services.report_events import counter_key, day_of
from chalicelib.services.reports import NewReport
from tests.unit.conftest import G1, World

COMMUNITY = "wuhan.wuchang.shuiguohu.dongting"


def _filed(world: World) -> Report:
    resident = world.resident(grid=G1)
    return world.reports.file(
        resident, NewReport("construction-waste", "建筑垃圾", Urgency.NORMAL, Location(building="15"))
    )


def _change(world: World, event: str, old: Report | None, new: Report | None) -> Any:
    return world.report_events.on_change(event, world.clock.now(), old, new)  # type: ignore[arg-type]


def test_a_new_report_starts_its_workflow_counts_everywhere_and_tells_the_grid(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    report = _filed(world)
    outcome = _change(world, "e1", None, report)
    assert outcome.started and world.workflow.started == [(report.report_id, 0)]
    day = day_of(world.clock.now())
    for unit in ("wuhan", "wuhan.wuchang", "wuhan.wuchang.shuiguohu", COMMUNITY, G1):
        key, _ = counter_key(unit, day, report.report_id)
        assert (
            world.counters.read(key.rsplit("#", 1)[0] if unit in ("wuhan", "wuhan.wuchang") else key, 1)["created"] == 1
        ), unit
    assert [(n.user_id, n.kind) for n in world.publisher.published] == [(worker.user_id, "report_new")]


def test_a_redelivered_stream_record_counts_once(world: World) -> None:
    report = _filed(world)
    _change(world, "e1", None, report)
    _change(world, "e1", None, report)
    key, _ = counter_key(G1, day_of(world.clock.now()), report.report_id)
    assert world.counters.read(key, 1)["created"] == 1
    assert world.workflow.started == [(report.report_id, 0)]


def test_escalation_writes_the_timeline_once_and_counts_overdue(world: World) -> None:
    report = _filed(world)
    world.clock.advance(3600)
    escalated = replace(report, step=1, last_actor="system")
    outcome = _change(world, "e2", report, escalated)
    assert outcome.counted == {"escalated": 1, "overdue": 1} and outcome.timeline == 1
    assert _change(world, "e2-again", report, escalated).timeline == 0  # the same entry id: not twice
    view = world.reports_repo.view(report.report_id, 10)
    assert view is not None and [e.action for e in view.timeline] == ["filed", "escalated"]
    assert view.timeline[1].data["unit_id"] == COMMUNITY


def test_a_new_arm_starts_a_new_execution(world: World) -> None:
    report = _filed(world)
    accepted = replace(report, status=Status.ACCEPTED, arm=1, last_actor="w")
    _change(world, "e3", report, accepted)
    assert world.workflow.started == [(report.report_id, 1)]
    closed = replace(accepted, status=Status.CLOSED, arm=2)
    _change(world, "e4", accepted, closed)
    assert (report.report_id, 2) not in world.workflow.started  # a closed report escalates no more


def test_status_changes_tell_the_reporter_but_not_the_one_who_acted(world: World) -> None:
    report = _filed(world)
    accepted = replace(report, status=Status.ACCEPTED, last_actor="worker-1")
    _change(world, "e5", report, accepted)
    assert [(n.user_id, n.title) for n in world.publisher.published] == [(report.reporter_id, "报事已受理")]
    world.publisher.published.clear()
    withdrawn = replace(report, status=Status.CLOSED, last_actor=report.reporter_id)
    _change(world, "e6", report, withdrawn)
    assert world.publisher.published == []


def test_the_workflow_escalation_tells_the_new_level_and_the_reporter(world: World) -> None:
    admin = world.staff(Role.COMMUNITY_ADMIN, COMMUNITY)
    report = _filed(world)
    sent = world.report_events.on_workflow_event(
        {"type": "escalated", "report_id": report.report_id, "arm": "0", "from_step": 0, "to_step": 1},
        world.clock.now(),
    )
    assert sent == 2
    assert {n.user_id for n in world.publisher.published} == {admin.user_id, report.reporter_id}
    assert all("东亭社区" in n.title for n in world.publisher.published)


def test_a_red_card_alerts_city_operations(world: World) -> None:
    ops = world.staff(Role.CITY_ADMIN, "wuhan")
    report = _filed(world)
    world.report_events.on_workflow_event(
        {"type": "red_card", "report_id": report.report_id, "arm": "0", "step": 3}, world.clock.now()
    )
    assert [(n.user_id, n.kind) for n in world.publisher.published] == [(ops.user_id, "report_red_card")]


def test_busy_units_are_sharded_by_report() -> None:
    keys = {counter_key("wuhan", "2020-01-25", f"r{i}")[0] for i in range(100)}
    assert len(keys) == 8 and all(k.startswith("wuhan#2020-01-25#") for k in keys)
    assert counter_key(G1, "2020-01-25", "r1") == (f"{G1}#2020-01-25", 1)
